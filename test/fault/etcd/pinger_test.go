package etcdfault

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// pinger sends an ICMP echo request every interval from one container to an address and
// records when each was sent and whether its reply came, so losses can be counted and
// placed in time (testbed.Ping waits 100 ms between requests; faults need finer grain).
// Every request carries its own ICMP identifier, so each is a new conntrack flow that the
// policy judges afresh: a continuing flow would be let through as established whatever
// the policy says now (as in Calico).
type pinger struct {
	name  string
	pc    net.PacketConn
	dst   netip.Addr
	id    uint16
	sent  []time.Time // by sequence number
	reply []bool
	mu    sync.Mutex
	stop  chan struct{}
	done  sync.WaitGroup
	once  sync.Once
}

func startPinger(from *cluster.Container, dst netip.Addr, interval time.Duration) (*pinger, error) {
	p := &pinger{name: fmt.Sprintf("%s -> %s", from, dst), dst: dst, stop: make(chan struct{}),
		id: uint16(os.Getpid()) ^ uint16(time.Now().UnixNano())}
	if err := from.NS.Do(func() error {
		var err error
		p.pc, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return nil, err
	}
	p.done.Add(2)
	go p.send(interval)
	go p.receive()
	return p, nil
}

func (p *pinger) send(interval time.Duration) {
	defer p.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		b := make([]byte, 8+16)
		b[0] = 8
		binary.BigEndian.PutUint16(b[4:], p.id+uint16(seq))
		binary.BigEndian.PutUint16(b[6:], uint16(seq))
		var sum uint32
		for i := 0; i < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		for sum>>16 != 0 {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(b[2:], ^uint16(sum))
		p.mu.Lock()
		p.sent = append(p.sent, time.Now())
		p.reply = append(p.reply, false)
		p.mu.Unlock()
		_, _ = p.pc.WriteTo(b, &net.IPAddr{IP: p.dst.AsSlice()})
	}
}

func (p *pinger) receive() {
	defer p.done.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			return // closed by stopPinger
		}
		ip, ok := from.(*net.IPAddr)
		if !ok || n < 8 || buf[0] != 0 || !ip.IP.Equal(p.dst.AsSlice()) {
			continue
		}
		seq := int(binary.BigEndian.Uint16(buf[6:]))
		if binary.BigEndian.Uint16(buf[4:]) != p.id+uint16(seq) {
			continue
		}
		p.mu.Lock()
		// Sequence numbers wrap at 65536 (11 minutes at 10 ms): map to the newest such.
		for i := len(p.sent) - 1; i >= 0; i-- {
			if i&0xffff == seq {
				p.reply[i] = true
				break
			}
		}
		p.mu.Unlock()
	}
}

// Stop ends sending, waits a second for the last replies and returns sent and lost.
// Calling it again only returns the figures.
func (p *pinger) Stop() (sent, lost int) {
	p.once.Do(func() {
		close(p.stop)
		time.Sleep(time.Second)
		p.pc.Close()
		p.done.Wait()
	})
	return p.counts(time.Time{}, time.Now())
}

// counts returns requests sent in [from, to) and how many of those got no reply. Requests
// of the last second still unanswered may be in flight and are not counted at all.
func (p *pinger) counts(from, to time.Time) (sent, lost int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inFlight := time.Now().Add(-time.Second)
	for i, t := range p.sent {
		if t.Before(from) || !t.Before(to) || !p.reply[i] && t.After(inFlight) {
			continue
		}
		sent++
		if !p.reply[i] {
			lost++
		}
	}
	return sent, lost
}

// firstLoss is the send time of the first request sent at or after from whose reply
// never came, and whether there is one. Only requests sent a second before now count.
func (p *pinger) firstLoss(from time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	limit := time.Now().Add(-time.Second)
	for i, t := range p.sent {
		if !t.Before(from) && t.Before(limit) && !p.reply[i] {
			return t, true
		}
	}
	return time.Time{}, false
}

// firstReply is the send time of the first request at or after from that was answered.
func (p *pinger) firstReply(from time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, t := range p.sent {
		if !t.Before(from) && p.reply[i] {
			return t, true
		}
	}
	return time.Time{}, false
}
