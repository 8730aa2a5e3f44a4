package dataplane

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/calc"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// learnedState is node-a of hostPair in BGP mode with three learned blocks: one whose next
// hop is on the connected subnet, one behind a router (10.0.2.0/24 via 10.0.1.2 in the
// test), and one whose next hop nothing routes.
func learnedState() *calc.State {
	s := twoNodes("node-a", calc.ModeNever, false)
	s.RoutesFromBGP = true
	for _, l := range []struct{ dst, nh string }{
		{"192.168.0.64/26", "10.0.1.2"},
		{"192.168.1.0/26", "10.0.2.7"},
		{"192.168.1.64/26", "10.0.2.7"},
		{"192.168.2.0/26", "10.0.9.9"},
	} {
		s.SetLearnedRoute(calc.LearnedRoute{Dst: netip.MustParsePrefix(l.dst), NextHop: netip.MustParseAddr(l.nh)})
	}
	return s
}

func newObservedDP(t *testing.T, ns string) (*Dataplane, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	dp, err := New(Options{NetNSPath: "/var/run/netns/" + ns, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dp.Close)
	return dp, logs
}

func countLogs(logs *observer.ObservedLogs, msgPrefix string) int {
	n := 0
	for _, e := range logs.All() {
		if strings.HasPrefix(e.Message, msgPrefix) {
			n++
		}
	}
	return n
}

// TestRecursiveNexthops: BGP next hops not on a connected subnet are installed via the
// kernel's route to them, follow that route when it changes, and an unresolvable one is
// reported once and programmed as soon as a route to it appears.
func TestRecursiveNexthops(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	sh(t, "ip", "-n", a, "route", "add", "10.0.2.0/24", "via", "10.0.1.2")
	want := calc.Compute(learnedState())
	dp, logs := newObservedDP(t, a)
	for range 3 {
		apply(t, dp, want) // an unresolvable next hop is not an error
	}
	out := sh(t, "ip", "-n", a, "route", "show")
	mustContain(t, out,
		"192.168.0.64/26 via 10.0.1.2 dev eth0 proto bird",
		"192.168.1.0/26 via 10.0.1.2 dev eth0 proto bird",
		"192.168.1.64/26 via 10.0.1.2 dev eth0 proto bird")
	mustNotContain(t, out, "192.168.2.0/26")
	un := dp.Unresolved()
	if len(un) != 1 || !strings.Contains(un[netip.MustParseAddr("10.0.9.9")], "unreachable") {
		t.Errorf("unresolved next hops %v, want 10.0.9.9 (network is unreachable)", un)
	}
	const cannot = "BGP next hop cannot be resolved"
	if n := countLogs(logs, cannot); n != 1 {
		t.Errorf("the unresolvable next hop was logged %d times over three applies, want once", n)
	}

	// A restarted agent recognises the resolved routes and writes nothing.
	dp2, _ := newObservedDP(t, a)
	apply(t, dp2, want)
	if w := dp2.Stats().RouteWrites; w != 0 {
		t.Errorf("restart rewrote %d routes", w)
	}

	// The route to the next hop changes: the block routes follow, through the watch alone.
	runAgentLoop(t, dp, want)
	watchLive(t, a, dp, want)
	routeIs := func(what, line string) {
		t.Helper()
		waitFor(t, what, 5*time.Second, func() bool {
			return strings.Contains(sh(t, "ip", "-n", a, "route", "show"), line)
		})
	}
	sh(t, "ip", "-n", a, "route", "add", "10.0.2.7/32", "via", "10.0.1.3")
	routeIs("block routes to follow a more specific route to their next hop", "192.168.1.64/26 via 10.0.1.3 dev eth0 proto bird")
	routeIs("both blocks", "192.168.1.0/26 via 10.0.1.3 dev eth0 proto bird")
	sh(t, "ip", "-n", a, "route", "del", "10.0.2.7/32")
	routeIs("block routes back via the subnet route", "192.168.1.0/26 via 10.0.1.2 dev eth0 proto bird")
	sh(t, "ip", "-n", a, "route", "replace", "10.0.2.0/24", "via", "10.0.1.4")
	routeIs("block routes to follow a replaced route", "192.168.1.0/26 via 10.0.1.4 dev eth0 proto bird")

	// A route to the unresolvable next hop appears: its block is programmed.
	sh(t, "ip", "-n", a, "route", "add", "10.0.9.0/24", "via", "10.0.1.2")
	routeIs("the once unresolvable block", "192.168.2.0/26 via 10.0.1.2 dev eth0 proto bird")
	if n := countLogs(logs, "BGP next hop resolved again"); n != 1 {
		t.Errorf("'resolved again' logged %d times, want once", n)
	}
	// ... and goes again when that route does.
	sh(t, "ip", "-n", a, "route", "del", "10.0.9.0/24")
	waitFor(t, "the block route to go with the route to its next hop", 5*time.Second, func() bool {
		return !strings.Contains(sh(t, "ip", "-n", a, "route", "show"), "192.168.2.0/26")
	})
	if n := countLogs(logs, cannot); n != 2 {
		t.Errorf("unresolvable next hop logged %d times in all, want twice (once per time it became unresolvable)", n)
	}
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.1.0/26 via 10.0.1.4 dev eth0 proto bird")
}

// TestRecursiveNexthopLinkDown: a device going down takes the routes through it without
// route events; next hops resolved through it are resolved again.
func TestRecursiveNexthopLinkDown(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	sh(t, "ip", "-n", a, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
	sh(t, "ip", "-n", a, "addr", "add", "10.0.3.1/24", "dev", "eth1")
	sh(t, "ip", "-n", a, "link", "set", "eth1p", "up")
	sh(t, "ip", "-n", a, "link", "set", "eth1", "up")
	sh(t, "ip", "-n", a, "route", "add", "10.0.2.0/24", "via", "10.0.1.2", "metric", "100")
	sh(t, "ip", "-n", a, "route", "add", "10.0.2.0/24", "via", "10.0.3.2", "metric", "10")
	// An ECMP route to a next hop: the path the kernel forwards on for it is taken.
	sh(t, "ip", "-n", a, "route", "add", "10.0.4.0/24", "nexthop", "via", "10.0.1.2", "nexthop", "via", "10.0.3.2")
	s := learnedState()
	s.SetLearnedRoute(calc.LearnedRoute{Dst: netip.MustParsePrefix("192.168.3.0/26"), NextHop: netip.MustParseAddr("10.0.4.5")})
	dp, _ := newObservedDP(t, a)
	want := calc.Compute(s)
	runAgentLoop(t, dp, want)
	line := func() string { return sh(t, "ip", "-n", a, "route", "show", "192.168.1.0/26") }
	waitFor(t, "block via the preferred uplink", 5*time.Second, func() bool { return strings.Contains(line(), "via 10.0.3.2 dev eth1") })
	watchLive(t, a, dp, want)
	path := sh(t, "ip", "-n", a, "route", "get", "10.0.4.5")
	ecmp := sh(t, "ip", "-n", a, "route", "show", "192.168.3.0/26")
	if f := strings.Fields(path); len(f) < 5 || !strings.Contains(ecmp, "via "+f[2]+" dev "+f[4]) {
		t.Errorf("block behind an ECMP route: %q, want the kernel's path %q", ecmp, path)
	}
	sh(t, "ip", "-n", a, "link", "set", "eth1", "down")
	waitFor(t, "block via the remaining uplink", 5*time.Second, func() bool { return strings.Contains(line(), "via 10.0.1.2 dev eth0") })
}

// watchLive waits until the agent loop's netlink watch reacts (it subscribes in the
// background): one of its routes, deleted by hand, comes back without an Apply of ours.
func watchLive(t *testing.T, ns string, dp *Dataplane, want calc.Desired) {
	t.Helper()
	const dst = "192.168.0.64/26"
	for try := range 20 {
		sh(t, "ip", "-n", ns, "route", "del", dst)
		deadline := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(deadline) {
			if out, _ := shOK("ip", "-n", ns, "route", "show", dst); out != "" {
				t.Logf("watch live after %d tries", try+1)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The watch was not there yet and missed the deletion: put the route back (the
		// mirror must be re-read for that) and try again.
		dp.MarkResync()
		apply(t, dp, want)
	}
	t.Fatal("the watch never repaired a deleted route")
}
