package calc

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// dualStack is cluster() with IPv6 addresses on the nodes (node-a and node-b share
// fd00:1::/64, node-c sits in fd00:2::/64) and an IPv6 pool with blocks on every node.
func dualStack(ipip, vxlan, vxlan6 string) *State {
	s := cluster(ipip, vxlan)
	for name, a := range map[string]string{"node-a": "fd00:1::1/64", "node-b": "fd00:1::2/64", "node-c": "fd00:2::3/64"} {
		n := s.Nodes[name]
		n.IPv6 = pfx(a)
		s.SetNode(n)
	}
	s.SetPool(Pool{CIDR: pfx("fd00:10::/112"), VXLANMode: vxlan6, NATOutgoing: true, BlockSize: 122})
	s.SetBlock(Block{CIDR: pfx("fd00:10::/122"), Node: "node-a"})
	s.SetBlock(Block{CIDR: pfx("fd00:10::40/122"), Node: "node-b"})
	s.SetBlock(Block{CIDR: pfx("fd00:10::80/122"), Node: "node-c",
		Borrowed: []BorrowedIP{{Addr: addr("fd00:10::81"), Node: "node-b"}, {Addr: addr("fd00:10::82"), Node: "node-a"}}})
	s.SetBlock(Block{CIDR: pfx("fd00:10::c0/128"), Node: "node-a"}) // one address: no blackhole
	s.SetWorkload(LocalWorkload{Iface: "cali6", IPs: []netip.Prefix{pfx("192.168.0.9/32"), pfx("fd00:10::2/128")}})
	s.SetWorkload(LocalWorkload{Iface: "cali7", IPs: []netip.Prefix{pfx("fd00:10::82/128")}})
	return s
}

func TestIPv6RoutesFromTheDatastore(t *testing.T) {
	d := Compute(dualStack("", "", ""))
	if r := route(t, d, "fd00:10::/122"); r.Kind != RouteBlackhole {
		t.Errorf("own IPv6 block: %+v, want a blackhole", r)
	}
	if r := route(t, d, "fd00:10::2/128"); r.Kind != RouteWorkload || r.Dev != "cali6" {
		t.Errorf("IPv6 workload: %+v", r)
	}
	if r := route(t, d, "fd00:10::82/128"); r.Kind != RouteWorkload || r.Dev != "cali7" {
		t.Errorf("borrowed address held here: %+v, want the workload route", r)
	}
	if r := route(t, d, "fd00:10::40/122"); r.Kind != RouteVia || r.Gw != addr("fd00:1::2") || r.Dev != "eth0" || r.OnLink {
		t.Errorf("remote IPv6 block: %+v, want via node-b's IPv6 address on eth0", r)
	}
	if r := route(t, d, "fd00:10::81/128"); r.Gw != addr("fd00:1::2") {
		t.Errorf("IPv6 address borrowed by node-b: %+v", r)
	}
	noRoute(t, d, "fd00:10::c0/128")
	// IPv4 is untouched, and the list stays sorted: IPv4 destinations first.
	route(t, d, "192.168.0.64/26")
	if !slices.IsSortedFunc(d.Routes, func(a, b Route) int { return comparePrefix(a.Dst, b.Dst) }) {
		t.Errorf("routes not sorted: %+v", d.Routes)
	}
	if !slices.ContainsFunc(d.Sysctls, func(s Sysctl) bool { return s.Key == "net/ipv6/conf/all/forwarding" }) ||
		!slices.ContainsFunc(d.Sysctls, func(s Sysctl) bool { return s.Key == "net/ipv6/conf/cali7/proxy_ndp" }) {
		t.Errorf("IPv6 sysctls missing: %+v", d.Sysctls)
	}
	if d.IPIP != nil || d.VXLAN != nil {
		t.Errorf("no encapsulation wanted: %+v %+v", d.IPIP, d.VXLAN)
	}
}

// Without an IPv6 address a peer's IPv6 blocks cannot be routed; its IPv4 blocks still are.
func TestIPv6PeerWithoutIPv6Address(t *testing.T) {
	s := dualStack("", "", "")
	n := s.Nodes["node-b"]
	n.IPv6 = pfx("10.9.9.9/24") // the wrong family is dropped
	s.SetNode(n)
	d := Compute(s)
	noRoute(t, d, "fd00:10::40/122")
	route(t, d, "192.168.0.64/26")
	if !slices.ContainsFunc(d.Skipped, func(x Decision) bool {
		return strings.Contains(x.Subject, "fd00:10::40/122") && strings.Contains(x.Reason, "no IPv6 address")
	}) {
		t.Errorf("no reason for the skipped block: %+v", d.Skipped)
	}
	// Setting the address routes it, incrementally.
	n.IPv6 = pfx("fd00:1::2/64")
	s.SetNode(n)
	if r := route(t, Compute(s), "fd00:10::40/122"); r.Gw != addr("fd00:1::2") {
		t.Errorf("after the address: %+v", r)
	}
}

// CrossSubnet compares the peer's IPv6 address with this node's IPv6 subnet. Without this
// node's IPv6 tunnel address there is no vxlan-v6.calico, so a peer that needs it is
// skipped, never routed in the clear.
func TestIPv6CrossSubnet(t *testing.T) {
	d := Compute(dualStack("", "", ModeCrossSubnet))
	if r := route(t, d, "fd00:10::40/122"); r.Gw != addr("fd00:1::2") || r.Dev != "eth0" {
		t.Errorf("same IPv6 subnet: %+v, want no encapsulation", r)
	}
	noRoute(t, d, "fd00:10::80/122")
	if !slices.ContainsFunc(d.Skipped, func(x Decision) bool {
		return strings.Contains(x.Subject, "fd00:10::80/122") && strings.Contains(x.Reason, VXLANV6DeviceName+" is not set up")
	}) {
		t.Errorf("no reason for the block across subnets: %+v", d.Skipped)
	}
	if d.VXLAN != nil || d.VXLANV6 != nil {
		t.Errorf("no VXLAN device wanted: %+v %+v", d.VXLAN, d.VXLANV6)
	}
}

// With IPv6 tunnel addresses, IPv6 VXLAN pools route through vxlan-v6.calico (Calico's VNI,
// port, MTU uplink-70, MAC from sha1(name-v6)), with a VTEP per remote node.
func TestIPv6VXLAN(t *testing.T) {
	for _, mode := range []string{ModeAlways, ModeCrossSubnet} {
		s := dualStack("", "", mode)
		for name, tun := range map[string]string{"node-a": "fd00:10::1", "node-b": "fd00:10::41", "node-c": "fd00:10::83"} {
			n := s.Nodes[name]
			n.VXLANTunnelAddrV6 = addr(tun)
			s.SetNode(n)
		}
		d := Compute(s)
		dev := d.VXLANV6
		if dev == nil || dev.Name != "vxlan-v6.calico" || dev.VNI != 4096 || dev.Port != 4789 || dev.MTU != 1430 ||
			dev.Addr != addr("fd00:10::1") || dev.SrcAddr != addr("fd00:1::1") || dev.Parent != "eth0" {
			t.Fatalf("%s: device %+v", mode, dev)
		}
		if d.VXLAN != nil {
			t.Errorf("%s: vxlan.calico wanted for an IPv6 pool: %+v", mode, d.VXLAN)
		}
		if len(d.VTEPsV6) != 2 || d.VTEPsV6[0].TunnelIP != addr("fd00:10::41") || d.VTEPsV6[0].HostIP != addr("fd00:1::2") ||
			d.VTEPsV6[1].Node != "node-c" || d.VTEPsV6[0].MAC.String() != VXLANMACV6(Node{Name: "node-b"}).String() {
			t.Errorf("%s: VTEPs %+v", mode, d.VTEPsV6)
		}
		if VXLANMACV6(Node{Name: "node-b"}).String() == VXLANMAC(Node{Name: "node-b"}).String() {
			t.Error("IPv4 and IPv6 VTEP MACs must differ")
		}
		far := route(t, d, "fd00:10::80/122")
		if far.Dev != "vxlan-v6.calico" || far.Gw != addr("fd00:10::83") || !far.OnLink {
			t.Errorf("%s: block across subnets %+v", mode, far)
		}
		near := route(t, d, "fd00:10::40/122")
		if mode == ModeAlways && (near.Dev != "vxlan-v6.calico" || near.Gw != addr("fd00:10::41")) {
			t.Errorf("Always: block in the subnet %+v", near)
		}
		if mode == ModeCrossSubnet && (near.Dev != "eth0" || near.Gw != addr("fd00:1::2")) {
			t.Errorf("CrossSubnet: block in the subnet %+v", near)
		}
		// The peer's tunnel address goes: its block is skipped (incrementally).
		n := s.Nodes["node-c"]
		n.VXLANTunnelAddrV6 = netip.Addr{}
		s.SetNode(n)
		d = Compute(s)
		noRoute(t, d, "fd00:10::80/122")
		if len(d.VTEPsV6) != 1 {
			t.Errorf("%s: VTEPs after the tunnel address went %+v", mode, d.VTEPsV6)
		}
	}
}

func TestIPv6LearnedRoutes(t *testing.T) {
	s := dualStack("", "", "")
	s.RoutesFromBGP = true
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("fd00:10::40/122"), NextHop: addr("fd00:1::2")})
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("fd00:10::/122"), NextHop: addr("fd00:1::2")})  // our own block
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("fd00:99::/122"), NextHop: addr("fd00:1::1")})  // reflected
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("fd00:98::/122"), NextHop: addr("10.0.1.2")})   // wrong family
	s.SetLearnedRoute(LearnedRoute{Dst: pfx("192.168.0.64/26"), NextHop: addr("10.0.1.2")}) // IPv4 still works
	d := Compute(s)
	r := route(t, d, "fd00:10::40/122")
	if !r.FromBGP || !r.Recursive || r.Gw != addr("fd00:1::2") || r.Dev != "" {
		t.Errorf("learned IPv6 block: %+v, want a recursive BGP route via fd00:1::2", r)
	}
	if r := route(t, d, "fd00:10::/122"); r.Kind != RouteBlackhole || !r.FromBGP {
		t.Errorf("own block learned back: %+v, want the blackhole (proto bird)", r)
	}
	noRoute(t, d, "fd00:99::/122")
	noRoute(t, d, "fd00:98::/122")
	route(t, d, "192.168.0.64/26")

	// Withdrawal is incremental and gives what a fresh computation gives.
	s.DeleteLearnedRoute(pfx("fd00:10::40/122"))
	d = Compute(s)
	noRoute(t, d, "fd00:10::40/122")
	s.Invalidate()
	if fresh := Compute(s); !reflect.DeepEqual(fresh.Routes, d.Routes) {
		t.Errorf("incremental %+v\nfresh %+v", d.Routes, fresh.Routes)
	}
	if d.Delta == nil || d.Delta.Full || !slices.Contains(d.Delta.Routes, pfx("fd00:10::40/122")) {
		t.Errorf("delta does not name the withdrawn IPv6 route: %+v", d.Delta)
	}
}
