package dataplane

import (
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/explain"
)

// TestReadFacts wires a workload as the CNI plugin does (veth, /32 on eth0, default via
// 169.254.1.1) and checks that the facts show both sides of the veth and the host routes
// with their protocols, so that explain can walk them.
func TestReadFacts(t *testing.T) {
	needRoot(t)
	host, _ := hostPair(t)
	ct := newNS(t, "ct")
	sh(t, "ip", "-n", host, "link", "add", "califacts0", "mtu", "1450", "type", "veth", "peer", "name", "eth0", "netns", ct)
	sh(t, "ip", "-n", host, "link", "set", "califacts0", "up")
	sh(t, "ip", "-n", ct, "link", "set", "eth0", "mtu", "1450", "up")
	sh(t, "ip", "-n", ct, "addr", "add", "10.244.2.5/32", "dev", "eth0")
	sh(t, "ip", "-n", ct, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
	sh(t, "ip", "-n", ct, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
	sh(t, "ip", "-n", host, "route", "add", "10.244.2.5/32", "dev", "califacts0", "proto", "80", "scope", "link")
	sh(t, "ip", "-n", host, "route", "add", "blackhole", "10.244.2.0/24", "proto", "80")
	sh(t, "ip", "-n", host, "route", "add", "10.244.1.0/24", "via", "10.0.1.2", "dev", "eth0", "proto", "bird")

	f, err := ReadFacts("/var/run/netns/"+host, []calc.LocalWorkload{{Iface: "califacts0", IPs: []netip.Prefix{netip.MustParsePrefix("10.244.2.5/32")}}})
	if err != nil {
		t.Fatal(err)
	}
	for dst, want := range map[string]string{
		"10.244.2.5": "10.244.2.5 dev califacts0 proto 80 scope link",
		"10.244.2.9": "blackhole 10.244.2.0/24 proto 80",
		"10.244.1.7": "10.244.1.0/24 via 10.0.1.2 dev eth0 proto bird",
		"10.0.1.2":   "10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.1",
	} {
		r, ok := explain.Lookup(f.Routes, netip.MustParseAddr(dst))
		if !ok || r.String() != want {
			t.Errorf("route for %s: %q (found %v), want %q", dst, r.String(), ok, want)
		}
	}
	if len(f.Workloads) != 1 || f.Workloads[0].Container == nil {
		t.Fatalf("workload container side not found: %+v", f.Workloads)
	}
	c := f.Workloads[0].Container
	var hostIdx int
	for _, l := range f.Links {
		if l.Name == "califacts0" {
			hostIdx = l.Index
		}
	}
	if c.Iface != "eth0" || c.MTU != 1450 || c.IfLink != hostIdx || hostIdx == 0 {
		t.Errorf("container side %+v, want eth0 mtu 1450 iflink %d", c, hostIdx)
	}
	def, ok := explain.Lookup(c.Routes, netip.MustParseAddr("192.0.2.1"))
	if !ok || def.String() != "default via 169.254.1.1 dev eth0 proto boot" {
		t.Errorf("container default route %q", def.String())
	}
}
