package cluster

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// FastPinger sends an ICMP echo request every interval from a container to another one and
// collects the replies on a separate goroutine, so a request is never held back by an
// unanswered one (Pinger's one-at-a-time ping cannot go faster than its reply timeout
// allows). A request counts as lost if no reply came within a second of the last request.
type FastPinger struct {
	pc       net.PacketConn
	dst      net.IP
	id       uint16
	interval time.Duration
	stop     chan struct{}
	sendDone chan struct{}
	recvDone chan struct{}

	mu     sync.Mutex
	sentAt []time.Time // by sequence number
	got    map[int]bool
}

// StartFastPinger pings to's IPv4 address from from every interval until Stop.
func StartFastPinger(from, to *Container, interval time.Duration) (*FastPinger, error) {
	var pc net.PacketConn
	if err := from.NS.Do(func() error {
		var err error
		pc, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return nil, fmt.Errorf("ICMP socket in %s: %w", from.NS.Name, err)
	}
	p := &FastPinger{pc: pc, dst: to.IP.AsSlice(), id: uint16(os.Getpid()) ^ uint16(time.Now().UnixNano()),
		interval: interval, stop: make(chan struct{}), sendDone: make(chan struct{}),
		recvDone: make(chan struct{}), got: map[int]bool{}}
	go p.receive()
	go p.send()
	return p, nil
}

func (p *FastPinger) send() {
	defer close(p.sendDone)
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for seq := 0; seq < 65536; seq++ {
		req := testbed.EchoRequest(p.id, uint16(seq))
		p.mu.Lock()
		p.sentAt = append(p.sentAt, time.Now())
		p.mu.Unlock()
		_, _ = p.pc.WriteTo(req, &net.IPAddr{IP: p.dst}) // an error is a lost request
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
	}
}

func (p *FastPinger) receive() {
	defer close(p.recvDone)
	buf := make([]byte, 1500)
	for {
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			return // closed by Stop
		}
		ip, ok := from.(*net.IPAddr)
		// A raw socket sees every ICMP packet of the namespace: only our echo replies count.
		if !ok || n < 8 || buf[0] != 0 || !ip.IP.Equal(p.dst) || binary.BigEndian.Uint16(buf[4:6]) != p.id {
			continue
		}
		p.mu.Lock()
		p.got[int(binary.BigEndian.Uint16(buf[6:8]))] = true
		p.mu.Unlock()
	}
}

// PingResult is what a FastPinger saw.
type PingResult struct {
	Sent, Got int
	// Lost are the send times of the requests without a reply.
	Lost []time.Time
}

func (r PingResult) String() string {
	s := fmt.Sprintf("%d/%d replies", r.Got, r.Sent)
	if len(r.Lost) > 0 {
		s += fmt.Sprintf(", lost from %s to %s", r.Lost[0].Format("15:04:05.000"), r.Lost[len(r.Lost)-1].Format("15:04:05.000"))
	}
	return s
}

// Stop stops sending, waits a second for the last replies and returns the counts.
func (p *FastPinger) Stop() PingResult {
	close(p.stop)
	<-p.sendDone
	time.Sleep(time.Second)
	p.pc.Close()
	<-p.recvDone
	p.mu.Lock()
	defer p.mu.Unlock()
	r := PingResult{Sent: len(p.sentAt), Got: len(p.got)}
	for seq, at := range p.sentAt {
		if !p.got[seq] {
			r.Lost = append(r.Lost, at)
		}
	}
	return r
}
