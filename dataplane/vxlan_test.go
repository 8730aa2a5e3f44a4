package dataplane

import (
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

// TestVXLANPing programs two hosts with their own Dataplane and pings from one VXLAN
// tunnel address to the other: device, routes, neighbours, FDB and the nftables accept
// rule all have to be right for a reply to come back.
func TestVXLANPing(t *testing.T) {
	needRoot(t)
	a, b := hostPair(t)
	da, db := newDP(t, a), newDP(t, b)
	sa, sb := twoNodes("node-a", calc.ModeAlways, false), twoNodes("node-b", calc.ModeAlways, false)
	apply(t, da, calc.Compute(sa))
	apply(t, db, calc.Compute(sb))

	link := sh(t, "ip", "-d", "-n", a, "link", "show", "vxlan.calico")
	macA := calc.VXLANMAC(calc.Node{Name: "node-a"}).String()
	macB := calc.VXLANMAC(calc.Node{Name: "node-b"}).String()
	mustContain(t, link, "mtu 1450", "vxlan id 4096", "local 10.0.1.1", "dev eth0", "dstport 4789", "nolearning", macA)
	mustContain(t, sh(t, "ip", "-n", a, "addr", "show", "vxlan.calico"), "inet 192.168.0.1/32")
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26 via 192.168.0.65 dev vxlan.calico proto 80 onlink")
	mustContain(t, sh(t, "ip", "-n", a, "neigh", "show", "dev", "vxlan.calico"), "192.168.0.65 lladdr "+macB+" PERMANENT")
	mustContain(t, sh(t, "bridge", "-n", a, "fdb", "show", "dev", "vxlan.calico"), macB+" dst 10.0.1.2 self permanent")

	sh(t, "ip", "netns", "exec", a, "ping", "-c", "2", "-W", "2", "-I", "192.168.0.1", "192.168.0.65")

	// A restart recognises everything: no device recreated, no neighbour or route rewritten.
	da2 := newDP(t, a)
	apply(t, da2, calc.Compute(sa))
	if st := da2.Stats(); st.RouteWrites != 0 || st.VTEPWrites != 0 || da2.tunnels.recreated {
		t.Errorf("restart rewrote state: %+v recreated=%v", st, da2.tunnels.recreated)
	}

	// node-b leaves: its VTEP and route disappear; VXLAN turned off removes the device.
	sa.DeleteNode("node-b")
	apply(t, da2, calc.Compute(sa))
	mustNotContain(t, sh(t, "ip", "-n", a, "neigh", "show", "dev", "vxlan.calico"), "192.168.0.65")
	mustNotContain(t, sh(t, "bridge", "-n", a, "fdb", "show", "dev", "vxlan.calico"), macB)
	mustNotContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26")
	sa.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("192.168.0.0/16")})
	apply(t, da2, calc.Compute(sa))
	if out, err := shOK("ip", "-n", a, "link", "show", "vxlan.calico"); err == nil {
		t.Errorf("vxlan.calico still present:\n%s", out)
	}
}

// TestVXLANCrossSubnetSameSubnetIsPlain: inside one subnet CrossSubnet routes go straight
// over the uplink, and the ping works without encapsulation.
func TestVXLANCrossSubnetSameSubnetIsPlain(t *testing.T) {
	needRoot(t)
	a, b := hostPair(t)
	da, db := newDP(t, a), newDP(t, b)
	apply(t, da, calc.Compute(twoNodes("node-a", calc.ModeCrossSubnet, false)))
	apply(t, db, calc.Compute(twoNodes("node-b", calc.ModeCrossSubnet, false)))
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.64/26 via 10.0.1.2 dev eth0 proto 80")
	sh(t, "ip", "netns", "exec", a, "ping", "-c", "1", "-W", "2", "-I", "192.168.0.1", "192.168.0.65")
}
