package calc

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

// cluster: node-a (local) and node-b share 10.0.1.0/24; node-c is in 10.0.2.0/24.
func cluster(ipip, vxlan string) *State {
	s := NewState("node-a")
	s.Uplink, s.UplinkMTU = "eth0", 1500
	s.SetNode(Node{Name: "node-a", IPv4: pfx("10.0.1.1/24"), IPIPTunnelAddr: addr("192.168.0.1"), VXLANTunnelAddr: addr("192.168.0.2")})
	s.SetNode(Node{Name: "node-b", IPv4: pfx("10.0.1.2/24"), IPIPTunnelAddr: addr("192.168.0.65"), VXLANTunnelAddr: addr("192.168.0.66")})
	s.SetNode(Node{Name: "node-c", IPv4: pfx("10.0.2.3/24"), VXLANTunnelAddr: addr("192.168.0.130"),
		VXLANMAC: net.HardwareAddr{0x02, 1, 2, 3, 4, 5}})
	s.SetPool(Pool{CIDR: pfx("192.168.0.0/16"), IPIPMode: ipip, VXLANMode: vxlan, NATOutgoing: true, BlockSize: 26})
	s.SetBlock(Block{CIDR: pfx("192.168.0.0/26"), Node: "node-a"})
	s.SetBlock(Block{CIDR: pfx("192.168.0.64/26"), Node: "node-b"})
	s.SetBlock(Block{CIDR: pfx("192.168.0.128/26"), Node: "node-c",
		Borrowed: []BorrowedIP{{Addr: addr("192.168.0.140"), Node: "node-b"}, {Addr: addr("192.168.0.141"), Node: "node-a"}}})
	s.SetWorkload(LocalWorkload{Iface: "cali12345678901", IPs: []netip.Prefix{pfx("192.168.0.5/32")}})
	s.SetWorkload(LocalWorkload{Iface: "cali00000000002", IPs: []netip.Prefix{pfx("192.168.0.141/32")}})
	return s
}

func route(t *testing.T, d Desired, dst string) Route {
	t.Helper()
	for _, r := range d.Routes {
		if r.Dst == pfx(dst) {
			return r
		}
	}
	t.Fatalf("no route for %s in %+v", dst, d.Routes)
	return Route{}
}

func noRoute(t *testing.T, d Desired, dst string) {
	t.Helper()
	for _, r := range d.Routes {
		if r.Dst == pfx(dst) {
			t.Fatalf("unexpected route %+v", r)
		}
	}
}

func wantVia(t *testing.T, r Route, dev, gw string, onlink bool, reason string) {
	t.Helper()
	if r.Kind != RouteVia || r.Dev != dev || r.Gw != addr(gw) || r.OnLink != onlink {
		t.Errorf("%s: got %s dev %q via %s onlink=%v, want via %s dev %s onlink=%v", r.Dst, r.Kind, r.Dev, r.Gw, r.OnLink, gw, dev, onlink)
	}
	if !strings.Contains(r.Reason, reason) {
		t.Errorf("%s: reason %q does not mention %q", r.Dst, r.Reason, reason)
	}
}

func TestLocalRoutes(t *testing.T) {
	d := Compute(cluster(ModeNever, ModeNever))
	w := route(t, d, "192.168.0.5/32")
	if w.Kind != RouteWorkload || w.Dev != "cali12345678901" {
		t.Errorf("workload route: %+v", w)
	}
	if b := route(t, d, "192.168.0.0/26"); b.Kind != RouteBlackhole {
		t.Errorf("own block should be blackhole: %+v", b)
	}
	// 192.168.0.141 sits in node-c's block but lives here: the local /32 wins, no borrowed route.
	if r := route(t, d, "192.168.0.141/32"); r.Kind != RouteWorkload {
		t.Errorf("local borrowed address: %+v", r)
	}
	if d.IPIP != nil || d.VXLAN != nil || d.AcceptIPIP || d.AcceptVXLAN {
		t.Errorf("no encapsulation wanted: %+v %+v", d.IPIP, d.VXLAN)
	}
}

func TestIPIPAlways(t *testing.T) {
	d := Compute(cluster(ModeAlways, ModeNever))
	wantVia(t, route(t, d, "192.168.0.64/26"), "tunl0", "10.0.1.2", true, "ipipMode Always")
	wantVia(t, route(t, d, "192.168.0.128/26"), "tunl0", "10.0.2.3", true, "ipipMode Always")
	// Borrowed address in node-c's block, held by node-b: routed to node-b.
	wantVia(t, route(t, d, "192.168.0.140/32"), "tunl0", "10.0.1.2", true, "borrowed")
	if d.IPIP == nil || d.IPIP.MTU != 1480 || d.IPIP.Addr != addr("192.168.0.1") || d.IPIP.Name != "tunl0" {
		t.Errorf("tunl0: %+v", d.IPIP)
	}
	if !d.AcceptIPIP || d.AcceptVXLAN {
		t.Errorf("accept flags: ipip=%v vxlan=%v", d.AcceptIPIP, d.AcceptVXLAN)
	}
}

func TestIPIPCrossSubnet(t *testing.T) {
	d := Compute(cluster(ModeCrossSubnet, ModeNever))
	wantVia(t, route(t, d, "192.168.0.64/26"), "eth0", "10.0.1.2", false, "in this node's subnet")
	wantVia(t, route(t, d, "192.168.0.128/26"), "tunl0", "10.0.2.3", true,
		"ipipMode CrossSubnet and peer 10.0.2.3 in another subnet")
}

func TestVXLANAlways(t *testing.T) {
	d := Compute(cluster(ModeNever, ModeAlways))
	wantVia(t, route(t, d, "192.168.0.64/26"), "vxlan.calico", "192.168.0.66", true, "vxlanMode Always")
	wantVia(t, route(t, d, "192.168.0.128/26"), "vxlan.calico", "192.168.0.130", true, "vxlanMode Always")
	v := d.VXLAN
	if v == nil || v.VNI != 4096 || v.Port != 4789 || v.MTU != 1450 || v.Addr != addr("192.168.0.2") ||
		v.Parent != "eth0" || v.SrcAddr != addr("10.0.1.1") || v.MAC.String() != "66:07:02:c1:cc:60" {
		t.Fatalf("vxlan.calico: %+v", v)
	}
	if len(d.VTEPs) != 2 {
		t.Fatalf("VTEPs: %+v", d.VTEPs)
	}
	b, c := d.VTEPs[0], d.VTEPs[1]
	if b.Node != "node-b" || b.TunnelIP != addr("192.168.0.66") || b.HostIP != addr("10.0.1.2") || b.MAC.String() != VXLANMAC(Node{Name: "node-b"}).String() {
		t.Errorf("VTEP b: %+v", b)
	}
	if c.MAC.String() != "02:01:02:03:04:05" || c.HostIP != addr("10.0.2.3") {
		t.Errorf("VTEP c should use its configured MAC: %+v", c)
	}
	if d.IPIP != nil || !d.AcceptVXLAN {
		t.Errorf("ipip %+v acceptVXLAN %v", d.IPIP, d.AcceptVXLAN)
	}
}

func TestVXLANCrossSubnet(t *testing.T) {
	d := Compute(cluster(ModeNever, ModeCrossSubnet))
	wantVia(t, route(t, d, "192.168.0.64/26"), "eth0", "10.0.1.2", false, "vxlanMode CrossSubnet and peer 10.0.1.2 in this node's subnet")
	wantVia(t, route(t, d, "192.168.0.128/26"), "vxlan.calico", "192.168.0.130", true, "peer 10.0.2.3 in another subnet")
}

func TestVXLANWaitsForLocalVTEP(t *testing.T) {
	s := cluster(ModeNever, ModeAlways)
	n := s.Nodes["node-a"]
	n.VXLANTunnelAddr = netip.Addr{}
	s.SetNode(n)
	d := Compute(s)
	if d.VXLAN != nil || len(d.VTEPs) != 0 {
		t.Fatalf("vxlan wanted without a local VTEP: %+v", d.VXLAN)
	}
	noRoute(t, d, "192.168.0.64/26")
	if len(d.Skipped) == 0 {
		t.Error("skipped routes carry no reason")
	}
}

func TestRoutesFromBGP(t *testing.T) {
	s := cluster(ModeAlways, ModeNever)
	s.SetPool(Pool{CIDR: pfx("172.16.0.0/16"), VXLANMode: ModeAlways})
	s.SetBlock(Block{CIDR: pfx("172.16.0.0/26"), Node: "node-b"})
	s.RoutesFromBGP = true
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("192.168.0.128/26"), NextHop: addr("10.0.2.3")})
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("172.16.0.0/26"), NextHop: addr("10.0.1.2")})
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("192.168.0.0/26"), NextHop: addr("10.0.1.2")}) // our block, reflected
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("10.99.0.0/16"), NextHop: addr("10.0.1.254")})
	d := Compute(s)
	r := route(t, d, "192.168.0.128/26")
	wantVia(t, r, "tunl0", "10.0.2.3", true, "learned")
	if !r.FromBGP {
		t.Error("learned route not marked FromBGP")
	}
	noRoute(t, d, "192.168.0.64/26")  // node-b's IPIP block: not learned, so no route
	noRoute(t, d, "192.168.0.140/32") // borrowed /32s of non-VXLAN pools come from BGP too
	if r := route(t, d, "192.168.0.0/26"); r.Kind != RouteBlackhole {
		t.Errorf("own block must stay a blackhole: %+v", r)
	}
	// VXLAN pool: from the datastore, not from BGP (needs the local VTEP).
	s.SetPool(Pool{CIDR: pfx("192.168.0.0/16"), IPIPMode: ModeAlways, NATOutgoing: true})
	d = Compute(s)
	if d.VXLAN == nil {
		t.Fatal("vxlan.calico not wanted")
	}
	r = route(t, d, "172.16.0.0/26")
	wantVia(t, r, "vxlan.calico", "192.168.0.66", true, "remote block")
	if r.FromBGP {
		t.Error("VXLAN route marked FromBGP")
	}
	r = route(t, d, "10.99.0.0/16")
	wantVia(t, r, "", "10.0.1.254", false, "no pool covers it")
	if !r.Recursive || !strings.Contains(r.Reason, "resolved recursively") {
		t.Errorf("a learned route without encapsulation must be resolved recursively: %+v", r)
	}
	if r := route(t, d, "192.168.0.128/26"); r.Recursive {
		t.Errorf("an IPIP route (onlink through tunl0) is not resolved recursively: %+v", r)
	}
}

func TestNATAndSources(t *testing.T) {
	s := cluster(ModeNever, ModeNever)
	s.SetPool(Pool{CIDR: pfx("10.244.0.0/16"), Disabled: true})
	d := Compute(s)
	if got := d.NAT.AllPools; len(got) != 2 || got[0] != pfx("10.244.0.0/16") || got[1] != pfx("192.168.0.0/16") {
		t.Errorf("all pools: %v", got)
	}
	if got := d.NAT.MasqPools; len(got) != 1 || got[0] != pfx("192.168.0.0/16") {
		t.Errorf("masq pools: %v", got)
	}
	want := []netip.Addr{addr("10.0.1.1"), addr("10.0.1.2"), addr("10.0.2.3")}
	if len(d.TunnelSources) != 3 || d.TunnelSources[0] != want[0] || d.TunnelSources[2] != want[2] {
		t.Errorf("tunnel sources: %v", d.TunnelSources)
	}
	if len(d.Sysctls) != 5 || d.Sysctls[4].Key != "net/ipv4/ip_forward" || d.Sysctls[0].Key != "net/ipv4/conf/cali00000000002/forwarding" {
		t.Errorf("sysctls: %+v", d.Sysctls)
	}
}

func TestUnknownNodeSkipped(t *testing.T) {
	s := cluster(ModeAlways, ModeNever)
	s.DeleteNode("node-c")
	d := Compute(s)
	noRoute(t, d, "192.168.0.128/26")
	found := false
	for _, k := range d.Skipped {
		found = found || (strings.Contains(k.Subject, "192.168.0.128/26") && strings.Contains(k.Reason, "node-c"))
	}
	if !found {
		t.Errorf("no reason recorded: %+v", d.Skipped)
	}
}

func TestNoBlackholeForSingleAddressBlocks(t *testing.T) {
	s := NewState("n1")
	s.SetNode(Node{Name: "n1", IPv4: netip.MustParsePrefix("10.0.0.1/24")})
	s.SetPool(Pool{CIDR: netip.MustParsePrefix("10.244.0.0/16"), BlockSize: 32})
	s.SetBlock(Block{CIDR: netip.MustParsePrefix("10.244.0.7/32"), Node: "n1"})
	s.SetWorkload(LocalWorkload{Iface: "cali1", IPs: []netip.Prefix{netip.MustParsePrefix("10.244.0.7/32")}})
	d := Compute(s)
	if len(d.Routes) != 1 || d.Routes[0].Kind != RouteWorkload {
		t.Fatalf("want only the workload route for a /32 block, got %+v", d.Routes)
	}
}

func TestBlackholeProtocolFollowsTheRouteSource(t *testing.T) {
	for _, c := range []struct {
		bgp       bool
		vxlanMode string
		want      bool
	}{{true, ModeNever, true}, {true, ModeAlways, false}, {false, ModeNever, false}} {
		s := NewState("n1")
		s.RoutesFromBGP = c.bgp
		s.SetNode(Node{Name: "n1", IPv4: netip.MustParsePrefix("10.0.0.1/24")})
		s.SetPool(Pool{CIDR: netip.MustParsePrefix("10.244.0.0/16"), BlockSize: 24, VXLANMode: c.vxlanMode})
		s.SetBlock(Block{CIDR: netip.MustParsePrefix("10.244.3.0/24"), Node: "n1"})
		d := Compute(s)
		if len(d.Routes) != 1 || d.Routes[0].Kind != RouteBlackhole || d.Routes[0].FromBGP != c.want {
			t.Errorf("bgp=%v vxlan=%s: got %+v, want one blackhole with FromBGP=%v", c.bgp, c.vxlanMode, d.Routes, c.want)
		}
	}
}
