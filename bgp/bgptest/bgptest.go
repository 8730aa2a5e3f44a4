// Package bgptest helps tests and benchmarks run several real Speakers in one process on
// loopback addresses (127.x.y.z, a random /24 per call, so parallel test binaries and other
// packages' tests do not collide) and wait for what they learn.
package bgptest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// Net is a set of loopback addresses sharing one free TCP port.
type Net struct {
	Addrs []netip.Addr
	Port  uint16
}

// Loopback picks n addresses 127.a.b.1..n and a port free on all of them.
func Loopback(tb testing.TB, n int) Net {
	tb.Helper()
	if n > 250 {
		tb.Fatalf("bgptest: at most 250 addresses per /24, asked for %d", n)
	}
	a, b := byte(100+rand.IntN(100)), byte(1+rand.IntN(250))
	out := Net{}
	for i := 1; i <= n; i++ {
		out.Addrs = append(out.Addrs, netip.AddrFrom4([4]byte{127, a, b, byte(i)}))
	}
	for try := 0; try < 50; try++ {
		port := uint16(20000 + rand.IntN(30000))
		if portFree(out.Addrs, port) {
			out.Port = port
			return out
		}
	}
	tb.Fatal("bgptest: no free port found")
	return out
}

func portFree(addrs []netip.Addr, port uint16) bool {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for _, a := range addrs {
		l, err := net.Listen("tcp", net.JoinHostPort(a.String(), strconv.Itoa(int(port))))
		if err != nil {
			return false
		}
		lns = append(lns, l)
	}
	return true
}

// Options for StartSpeaker.
type Options struct {
	AS      uint32
	Verbose bool // log GoBGP at debug level through the test log
	// Restarting starts the speaker as one coming back from a restart its peers helped
	// with (graceful restart: R-bit, updates deferred until the peers' End-of-RIB).
	Restarting bool
}

// StartSpeaker starts a speaker on n.Addrs[i] and shuts it down when the test ends.
func StartSpeaker(tb testing.TB, n Net, i int, o Options) *bgp.Speaker {
	tb.Helper()
	log := zap.NewNop()
	if o.Verbose {
		log = zaptest.NewLogger(tb)
	}
	s, err := bgp.Start(context.Background(), bgp.Options{
		RouterID:        n.Addrs[i],
		AS:              o.AS,
		ListenPort:      int32(n.Port),
		ListenAddresses: []netip.Addr{n.Addrs[i]},
		Logger:          log,
		ConnectRetry:    time.Second,
		Restarting:      o.Restarting,
	})
	if err != nil {
		tb.Fatalf("start speaker %s: %v", n.Addrs[i], err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s
}

// Peer returns a brindle-to-brindle peer from self to n.Addrs[j]; the higher address (by
// string, as Calico compares) is passive.
func (n Net) Peer(self, j int, as uint32, typ bgp.PeerType) bgp.Peer {
	me, them := n.Addrs[self], n.Addrs[j]
	return bgp.Peer{Address: them, Port: n.Port, AS: as, Type: typ,
		Passive: them.String() > me.String(), LocalAddress: me}
}

// MeshPeers returns self's peers in a full mesh over all addresses.
func (n Net) MeshPeers(self int, as uint32) []bgp.Peer {
	var out []bgp.Peer
	for j := range n.Addrs {
		if j != self {
			out = append(out, n.Peer(self, j, as, bgp.PeerMesh))
		}
	}
	return out
}

// WaitFor polls cond until it holds or timeout passes; the last message explains a failure.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s: %s", timeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// HasRoute reports whether s currently has a learned best path for pfx via nh.
func HasRoute(s *bgp.Speaker, pfx netip.Prefix, nh netip.Addr) (bool, string) {
	routes := s.LearnedRoutes()
	for _, r := range routes {
		if r.Prefix == pfx {
			return r.NextHop == nh, fmt.Sprintf("%s has %s", s.RouterID(), r)
		}
	}
	return false, fmt.Sprintf("%s has no route for %s (learned: %v)", s.RouterID(), pfx, routes)
}

// LacksRoute reports whether s has no learned path for pfx.
func LacksRoute(s *bgp.Speaker, pfx netip.Prefix) (bool, string) {
	for _, r := range s.LearnedRoutes() {
		if r.Prefix == pfx {
			return false, fmt.Sprintf("%s still has %s", s.RouterID(), r)
		}
	}
	return true, ""
}

// Established reports whether every configured peer of s is up.
func Established(s *bgp.Speaker) (bool, string) {
	st := s.Status()
	for _, p := range st.Peers {
		if p.State != "up" {
			return false, fmt.Sprintf("%s: peer %s is %s (%s)", s.RouterID(), p.Address, p.State, p.Info)
		}
	}
	return len(st.Peers) > 0, fmt.Sprintf("%s has no peers", s.RouterID())
}
