package dataplane

import (
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

func TestRoutesPlainRestartAndOwnership(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	// A route brindle does not own, inside the same prefix space: must survive everything.
	sh(t, "ip", "-n", a, "route", "add", "10.50.0.0/16", "via", "10.0.1.2")
	s := twoNodes("node-a", calc.ModeNever, false)
	s.SetBlock(calc.Block{CIDR: netip.MustParsePrefix("192.168.1.0/26"), Node: "node-b"})
	dp := newDP(t, a)
	apply(t, dp, calc.Compute(s))
	out := sh(t, "ip", "-n", a, "route", "show")
	mustContain(t, out,
		"blackhole 192.168.0.0/26 proto 80",
		"192.168.0.64/26 via 10.0.1.2 dev eth0 proto 80",
		"192.168.1.0/26 via 10.0.1.2 dev eth0 proto 80",
		"10.50.0.0/16 via 10.0.1.2 dev eth0")
	first := dp.Stats().RouteWrites
	if first != 3 {
		t.Errorf("cold start wrote %d routes, want 3", first)
	}

	// A restarted agent reads the kernel back and finds nothing to do.
	dp2 := newDP(t, a)
	apply(t, dp2, calc.Compute(s))
	if w := dp2.Stats().RouteWrites; w != 0 {
		t.Errorf("restart rewrote %d routes; it must recognise its own", w)
	}

	// Removing a block removes exactly its route, and a resync changes nothing more.
	s.DeleteBlock(netip.MustParsePrefix("192.168.1.0/26"))
	apply(t, dp2, calc.Compute(s))
	dp2.MarkResync()
	apply(t, dp2, calc.Compute(s))
	if w := dp2.Stats().RouteWrites; w != 1 {
		t.Errorf("one removal took %d writes", w)
	}
	out = sh(t, "ip", "-n", a, "route", "show")
	mustNotContain(t, out, "192.168.1.0/26")
	mustContain(t, out, "10.50.0.0/16 via 10.0.1.2", "192.168.0.64/26 via 10.0.1.2")

	// Empty desired state: every brindle route goes, the foreign one stays.
	apply(t, dp2, calc.Desired{})
	out = sh(t, "ip", "-n", a, "route", "show")
	mustNotContain(t, out, "proto 80")
	mustContain(t, out, "10.50.0.0/16 via 10.0.1.2")
}

func TestWorkloadRouteWaitsForDevice(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	s := twoNodes("node-a", calc.ModeNever, false)
	s.SetWorkload(calc.LocalWorkload{Iface: "cali0123456789a", IPs: []netip.Prefix{netip.MustParsePrefix("192.168.0.5/32")}})
	dp := newDP(t, a)
	if err := dp.Apply(t.Context(), calc.Compute(s)); err == nil {
		t.Fatal("apply should report the route waiting for its interface")
	}
	w := newNS(t, "w")
	sh(t, "ip", "-n", a, "link", "add", "cali0123456789a", "type", "veth", "peer", "name", "eth0", "netns", w)
	sh(t, "ip", "-n", a, "link", "set", "cali0123456789a", "up")
	apply(t, dp, calc.Compute(s))
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.5 dev cali0123456789a proto 80 scope link")
	mustContain(t, sh(t, "ip", "netns", "exec", a, "cat", "/proc/sys/net/ipv4/conf/cali0123456789a/proxy_arp"), "1")
}
