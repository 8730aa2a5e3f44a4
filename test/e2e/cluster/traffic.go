package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// PingMatrix pings every container from every other one (count requests each) and returns
// one line per pair that lost any.
func PingMatrix(cts []*Container, count int) []string { return PingMatrixFamily(cts, count, true) }

// PingMatrixFamily is PingMatrix over the containers' IPv4 (v4) or IPv6 addresses.
func PingMatrixFamily(cts []*Container, count int, v4 bool) []string {
	var failed []string
	for _, a := range cts {
		for _, b := range cts {
			if a == b {
				continue
			}
			got, err := testbed.Ping(a.NS, b.Addr(v4), count, time.Second)
			if err != nil || got != count {
				failed = append(failed, fmt.Sprintf("%s -> %s: %d/%d replies (err %v)", a, b.Addr(v4), got, count, err))
			}
		}
	}
	return failed
}

// WaitMatrix waits until every container answers every other one (routes converge in the
// background after a change), then returns nil or the pairs still failing.
func WaitMatrix(cts []*Container, timeout time.Duration) error {
	return WaitMatrixFamily(cts, timeout, true)
}

// WaitMatrixFamily is WaitMatrix over IPv4 (v4) or IPv6 addresses.
func WaitMatrixFamily(cts []*Container, timeout time.Duration, v4 bool) error {
	return WaitFor(timeout, "every container to reach every other", func() (bool, string) {
		var bad []string
		for _, a := range cts {
			for _, b := range cts {
				if a == b {
					continue
				}
				if got, _ := testbed.Ping(a.NS, b.Addr(v4), 1, 300*time.Millisecond); got != 1 {
					bad = append(bad, a.String()+" -> "+b.Addr(v4).String())
				}
			}
		}
		return len(bad) == 0, strings.Join(bad, ", ")
	})
}

// PMTU checks path MTU with iputils ping and the don't-fragment bit: a packet of exactly mtu
// bytes (payload mtu-28) must get through, one byte more must not.
func PMTU(from, to *Container, mtu int) error { return PMTUFamily(from, to, mtu, true) }

// PMTUFamily is PMTU over IPv4 (v4) or IPv6 (`ping -6 -M do`; headers take 48 bytes).
func PMTUFamily(from, to *Container, mtu int, v4 bool) error {
	hdr, fam := 28, "-4"
	if !v4 {
		hdr, fam = 48, "-6"
	}
	ping := func(size int) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return from.NS.Run(ctx, testbed.RunOptions{Path: "ping", Args: []string{fam, "-n", "-M", "do",
			"-s", strconv.Itoa(size), "-c", "1", "-W", "2", to.Addr(v4).String()}})
	}
	if out, err := ping(mtu - hdr); err != nil {
		return fmt.Errorf("%s -> %s: %d-byte packet with DF should pass: %v\n%s", from, to, mtu, err, out)
	}
	if out, err := ping(mtu - hdr + 1); err == nil {
		return fmt.Errorf("%s -> %s: %d-byte packet with DF passed, MTU should be %d\n%s", from, to, mtu+1, mtu, out)
	}
	return nil
}

// Pinger pings one destination continuously (one request about every 100 ms, each waited
// for up to a second) until Stop, counting what was lost.
type Pinger struct {
	stop      chan struct{}
	done      chan struct{}
	mu        sync.Mutex
	sent, got int
}

// StartPinger starts pinging to from from.
func StartPinger(from, to *Container) *Pinger {
	p := &Pinger{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			got, _ := testbed.Ping(from.NS, to.IP, 1, time.Second)
			p.mu.Lock()
			p.sent++
			p.got += got
			p.mu.Unlock()
		}
	}()
	return p
}

// Stop ends the pinger and returns requests sent and replies received.
func (p *Pinger) Stop() (sent, got int) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent, p.got
}

// Counts returns the figures so far.
func (p *Pinger) Counts() (sent, got int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent, p.got
}
