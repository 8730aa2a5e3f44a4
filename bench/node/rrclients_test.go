package nodebench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/test/testbed"
)

// Light route-reflector clients: GoBGP speakers of the bgp package, many in one helper
// process (this test binary re-executed inside a host namespace, so that their sockets live
// there). They report when each learned a prefix; the clock is the machine's, shared with
// the benchmark process.

const lcEnv = "BNB_LC_HELPER"

type lcConfig struct {
	RR    string
	AS    uint32
	Addrs []string
}

// TestLightClientsHelper is not a test: BenchmarkRRConvergence re-executes the test binary
// with it. It prints "UP <n>" (sessions established) every 100 ms and "LEARN <prefix> <i>
// <unix ns>" for every first arrival, until stopped by PID.
func TestLightClientsHelper(t *testing.T) {
	raw := os.Getenv(lcEnv)
	if raw == "" {
		t.Skip("helper process for BenchmarkRRConvergence only")
	}
	var c lcConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	rr := netip.MustParseAddr(c.RR)
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var sp []*bgp.Speaker
	for i, a := range c.Addrs {
		addr := netip.MustParseAddr(a)
		s, err := bgp.Start(context.Background(), bgp.Options{RouterID: addr, AS: c.AS, ListenAddresses: []netip.Addr{addr},
			ConnectRetry: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// The passive end follows the agent's rule (calc/bgppeers.go): the side whose own
		// address sorts lower as a string waits.
		p := bgp.Peer{Address: rr, AS: c.AS, Type: bgp.PeerNodeSpecific, LocalAddress: addr, Passive: rr.String() > addr.String()}
		if err := s.SetPeers(context.Background(), []bgp.Peer{p}); err != nil {
			t.Fatal(err)
		}
		sp = append(sp, s)
		go func() {
			for range s.LearnedReady() {
				now := time.Now().UnixNano()
				for _, r := range s.DrainLearned() {
					if !r.Withdrawn {
						mu.Lock()
						fmt.Fprintf(out, "LEARN %s %d %d\n", r.Prefix, i, now)
						out.Flush()
						mu.Unlock()
					}
				}
			}
		}()
	}
	for {
		up := 0
		for _, s := range sp {
			for _, p := range s.Status().Peers {
				if p.State == "up" {
					up++
				}
			}
		}
		mu.Lock()
		fmt.Fprintf(out, "UP %d\n", up)
		out.Flush()
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

// lightClients is the running helper as the benchmark sees it.
type lightClients struct {
	mu     sync.Mutex
	up     int
	learn  map[netip.Prefix]map[int]time.Time
	change chan struct{}
}

func startLightClients(b *testing.B, h *testbed.Host, c lcConfig) *lightClients {
	raw, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLightClientsHelper$")
	cmd.Env = append(os.Environ(), lcEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := h.StartCmd(cmd); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { // by PID
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	lc := &lightClients{learn: map[netip.Prefix]map[int]time.Time{}, change: make(chan struct{})}
	go lc.read(stdout)
	return lc
}

func (lc *lightClients) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		lc.mu.Lock()
		switch {
		case len(f) == 2 && f[0] == "UP":
			lc.up, _ = strconv.Atoi(f[1])
		case len(f) == 4 && f[0] == "LEARN":
			p, err1 := netip.ParsePrefix(f[1])
			i, err2 := strconv.Atoi(f[2])
			ns, err3 := strconv.ParseInt(f[3], 10, 64)
			if err1 == nil && err2 == nil && err3 == nil {
				m := lc.learn[p]
				if m == nil {
					m = map[int]time.Time{}
					lc.learn[p] = m
				}
				if _, dup := m[i]; !dup {
					m[i] = time.Unix(0, ns)
				}
			}
		}
		close(lc.change)
		lc.change = make(chan struct{})
		lc.mu.Unlock()
	}
}

// waitUp waits until n sessions are established.
func (lc *lightClients) waitUp(n int, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		lc.mu.Lock()
		up, ch := lc.up, lc.change
		lc.mu.Unlock()
		if up >= n {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return fmt.Errorf("%d of %d light clients established after %s", up, n, timeout)
		}
	}
}

// waitAll waits until all n clients learned p and returns the last arrival.
func (lc *lightClients) waitAll(p netip.Prefix, n int, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		lc.mu.Lock()
		m, ch := lc.learn[p], lc.change
		var last time.Time
		for _, t := range m {
			if t.After(last) {
				last = t
			}
		}
		got := len(m)
		lc.mu.Unlock()
		if got >= n {
			return last, nil
		}
		select {
		case <-ch:
		case <-deadline:
			return time.Time{}, fmt.Errorf("%s reached %d of %d light clients in %s", p, got, n, timeout)
		}
	}
}
