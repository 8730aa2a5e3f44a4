package dataplane

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

func newDPOpts(t *testing.T, ns string, opts Options) *Dataplane {
	t.Helper()
	opts.NetNSPath = "/var/run/netns/" + ns
	dp, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dp.Close)
	return dp
}

// ourNexthops lists `ip nexthop` lines of protocol 80.
func ourNexthops(t *testing.T, ns string) []string {
	var out []string
	for _, l := range strings.Split(sh(t, "ip", "-n", ns, "nexthop", "show"), "\n") {
		if strings.Contains(l, "proto 80") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// TestNexthopObjects: with nexthop objects from the first gateway on, two hosts still ping
// over VXLAN; a restart (with or without nexthop objects) rewrites nothing; a gateway change
// moves the route to a new object and removes the old one; a node leaving removes its
// route and object; a hand-deleted object (which takes its routes with it, silently) is
// repaired by a resync.
func TestNexthopObjects(t *testing.T) {
	needRoot(t)
	a, b := hostPair(t)
	nh := Options{NexthopsFrom: 1}
	da, db := newDPOpts(t, a, nh), newDPOpts(t, b, nh)
	sa, sb := twoNodes("node-a", calc.ModeAlways, false), twoNodes("node-b", calc.ModeAlways, false)
	apply(t, da, calc.Compute(sa))
	apply(t, db, calc.Compute(sb))
	routes := sh(t, "ip", "-n", a, "route", "show")
	mustContain(t, routes, "192.168.0.64/26 nhid ", " via 192.168.0.65 dev vxlan.calico proto 80 onlink")
	if nhs := ourNexthops(t, a); len(nhs) != 1 || !strings.Contains(nhs[0], "via 192.168.0.65 dev vxlan.calico") {
		t.Fatalf("nexthop objects: %q", nhs)
	}
	sh(t, "ip", "netns", "exec", a, "ping", "-c", "2", "-W", "2", "-I", "192.168.0.1", "192.168.0.65")

	for _, opts := range []Options{nh, {NexthopsFrom: -1}} {
		d2 := newDPOpts(t, a, opts)
		apply(t, d2, calc.Compute(sa))
		if st := d2.Stats(); st != (Stats{}) {
			t.Errorf("restart with %+v rewrote state: %+v", opts, st)
		}
	}

	// node-b's VXLAN address moves: a new object for the new gateway, the old one goes.
	nb := sa.Nodes["node-b"]
	nb.VXLANTunnelAddr = netip.MustParseAddr("192.168.0.70")
	sa.SetNode(nb)
	apply(t, da, calc.Compute(sa))
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), " via 192.168.0.70 dev vxlan.calico proto 80 onlink")
	if nhs := ourNexthops(t, a); len(nhs) != 1 || !strings.Contains(nhs[0], "via 192.168.0.70 ") {
		t.Fatalf("after the gateway change: %q", nhs)
	}

	// Deleting the object by hand deletes the route without a route event; a resync
	// (the agent's periodic one) brings both back.
	id := strings.Fields(ourNexthops(t, a)[0])[1]
	sh(t, "ip", "-n", a, "nexthop", "del", "id", id)
	mustNotContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26")
	da.MarkResync()
	apply(t, da, calc.Compute(sa))
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26 nhid ")
	if nhs := ourNexthops(t, a); len(nhs) != 1 {
		t.Fatalf("after repair: %q", nhs)
	}

	sa.DeleteNode("node-b")
	sa.DeleteBlock(netip.MustParsePrefix("192.168.0.64/26"))
	apply(t, da, calc.Compute(sa))
	mustNotContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26")
	if nhs := ourNexthops(t, a); len(nhs) != 0 {
		t.Fatalf("node gone, objects left: %q", nhs)
	}
}

// TestNexthopThreshold: below the threshold routes carry their gateways (the way Calico's
// look); once the cluster passes it, new routes go through objects while the old ones stay
// as they are.
func TestNexthopThreshold(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	dp := newDPOpts(t, a, Options{NexthopsFrom: 3})
	s := twoNodes("node-a", calc.ModeNever, false)
	apply(t, dp, calc.Compute(s))
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26 via 10.0.1.2 dev eth0 proto 80")
	for i := range 3 {
		name := "node-x" + string(rune('0'+i))
		s.SetNode(calc.Node{Name: name, IPv4: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + i)}), 24)})
		s.SetBlock(calc.Block{CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, 1, byte(64 * i)}), 26), Node: name})
	}
	apply(t, dp, calc.Compute(s))
	routes := sh(t, "ip", "-n", a, "route", "show")
	mustContain(t, routes, "192.168.0.64/26 via 10.0.1.2 dev eth0 proto 80", "192.168.1.128/26 nhid ")
	if nhs := ourNexthops(t, a); len(nhs) != 3 {
		t.Fatalf("want an object for each of the three new gateways: %q", nhs)
	}
	// Back below the threshold: the objects stay while routes resolve to them.
	s.DeleteNode("node-x2")
	apply(t, dp, calc.Compute(s))
	if nhs := ourNexthops(t, a); len(nhs) != 2 {
		t.Fatalf("want the two objects still in use: %q", nhs)
	}
}
