package dataplane

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

// dualPair is hostPair with IPv6 addresses (fd00:1::1 and fd00:1::2) on the veth pair, added
// without duplicate address detection so that they are usable at once.
func dualPair(t *testing.T) (a, b string) {
	a, b = hostPair(t)
	sh(t, "ip", "-n", a, "addr", "add", "fd00:1::1/64", "dev", "eth0", "nodad")
	sh(t, "ip", "-n", b, "addr", "add", "fd00:1::2/64", "dev", "eth0", "nodad")
	return a, b
}

func dualState(local string) *calc.State {
	s := twoNodes(local, calc.ModeNever, false)
	for _, n := range []struct{ name, v6 string }{{"node-a", "fd00:1::1/64"}, {"node-b", "fd00:1::2/64"}} {
		node := s.Nodes[n.name]
		node.IPv6 = netip.MustParsePrefix(n.v6)
		s.SetNode(node)
	}
	s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("fd00:10::/112"), BlockSize: 122})
	s.SetBlock(calc.Block{CIDR: netip.MustParsePrefix("fd00:10::/122"), Node: "node-a"})
	s.SetBlock(calc.Block{CIDR: netip.MustParsePrefix("fd00:10::40/122"), Node: "node-b"})
	return s
}

// TestIPv6Routes: IPv6 blackholes, block routes and /128 workload routes are programmed
// beside the IPv4 ones, recognised after a restart (the kernel gives IPv6 routes metric
// 1024 and no scope), and removed again.
func TestIPv6Routes(t *testing.T) {
	needRoot(t)
	a, _ := dualPair(t)
	w := newNS(t, "w")
	sh(t, "ip", "-n", a, "link", "add", "cali0123456789a", "type", "veth", "peer", "name", "eth0", "netns", w)
	sh(t, "ip", "-n", a, "link", "set", "cali0123456789a", "up")
	// A foreign IPv6 route stays whatever brindle does.
	sh(t, "ip", "-n", a, "-6", "route", "add", "fd00:50::/64", "via", "fd00:1::2")
	s := dualState("node-a")
	s.SetWorkload(calc.LocalWorkload{Iface: "cali0123456789a", IPs: []netip.Prefix{
		netip.MustParsePrefix("192.168.0.5/32"), netip.MustParsePrefix("fd00:10::5/128")}})
	dp := newDP(t, a)
	apply(t, dp, calc.Compute(s))
	out := sh(t, "ip", "-n", a, "-6", "route", "show")
	mustContain(t, out,
		"blackhole fd00:10::/122 dev lo proto 80",
		"fd00:10::5 dev cali0123456789a proto 80",
		"fd00:10::40/122 via fd00:1::2 dev eth0 proto 80",
		"fd00:50::/64 via fd00:1::2 dev eth0")
	mustContain(t, sh(t, "ip", "-n", a, "route", "show"), "192.168.0.5 dev cali0123456789a proto 80 scope link")
	mustContain(t, sh(t, "ip", "netns", "exec", a, "cat", "/proc/sys/net/ipv6/conf/all/forwarding"), "1")
	mustContain(t, sh(t, "ip", "netns", "exec", a, "cat", "/proc/sys/net/ipv6/conf/cali0123456789a/proxy_ndp"), "1")

	dp2 := newDP(t, a)
	apply(t, dp2, calc.Compute(s))
	if n := dp2.Stats().RouteWrites; n != 0 {
		t.Errorf("restart rewrote %d routes; it must recognise its own IPv6 routes", n)
	}

	s.DeleteBlock(netip.MustParsePrefix("fd00:10::40/122"))
	apply(t, dp2, calc.Compute(s))
	mustNotContain(t, sh(t, "ip", "-n", a, "-6", "route", "show"), "fd00:10::40/122")
	apply(t, dp2, calc.Desired{})
	out = sh(t, "ip", "-n", a, "-6", "route", "show")
	mustNotContain(t, out, "proto 80")
	mustContain(t, out, "fd00:50::/64 via fd00:1::2")
}

// TestIPv6RecursiveNexthop: a learned IPv6 path whose next hop sits behind a router goes in
// via the kernel's route to the next hop (BIRD's gateway recursive), tagged proto bird.
func TestIPv6RecursiveNexthop(t *testing.T) {
	needRoot(t)
	a, _ := dualPair(t)
	sh(t, "ip", "-n", a, "-6", "route", "add", "fd00:2::/64", "via", "fd00:1::2")
	s := dualState("node-a")
	s.RoutesFromBGP = true
	s.SetLearnedRoute(calc.LearnedRoute{Dst: netip.MustParsePrefix("fd00:10::40/122"), NextHop: netip.MustParseAddr("fd00:1::2")})
	s.SetLearnedRoute(calc.LearnedRoute{Dst: netip.MustParsePrefix("fd00:10::80/122"), NextHop: netip.MustParseAddr("fd00:2::7")})
	dp := newDP(t, a)
	apply(t, dp, calc.Compute(s))
	out := sh(t, "ip", "-n", a, "-6", "route", "show")
	mustContain(t, out,
		"blackhole fd00:10::/122 dev lo proto bird",
		"fd00:10::40/122 via fd00:1::2 dev eth0 proto bird",
		"fd00:10::80/122 via fd00:1::2 dev eth0 proto bird")
	dp2 := newDP(t, a)
	apply(t, dp2, calc.Compute(s))
	if n := dp2.Stats().RouteWrites; n != 0 {
		t.Errorf("restart rewrote %d routes", n)
	}
}

// TestNAT66: a workload of an IPv6 pool with natOutgoing reaches a host that has no route
// back to the pool only through masquerade in `ip6 brindle`; the table goes with the pool.
func TestNAT66(t *testing.T) {
	needRoot(t)
	a, b := dualPair(t)
	w := newNS(t, "w")
	sh(t, "ip", "-n", a, "link", "add", "cali0123456789a", "type", "veth", "peer", "name", "eth0", "netns", w)
	sh(t, "ip", "-n", a, "link", "set", "cali0123456789a", "up")
	sh(t, "ip", "-n", a, "addr", "add", "fe80::1/64", "dev", "cali0123456789a", "nodad")
	sh(t, "ip", "-n", w, "link", "set", "eth0", "up")
	sh(t, "ip", "-n", w, "addr", "add", "fd00:10::5/128", "dev", "eth0", "nodad")
	sh(t, "ip", "-n", w, "-6", "route", "add", "fd00:1::/64", "via", "fe80::1", "dev", "eth0")
	s := dualState("node-a")
	s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("fd00:10::/112"), BlockSize: 122, NATOutgoing: true})
	s.SetWorkload(calc.LocalWorkload{Iface: "cali0123456789a", IPs: []netip.Prefix{netip.MustParsePrefix("fd00:10::5/128")}})
	dp := newDP(t, a)
	apply(t, dp, calc.Compute(s))
	out := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip6", "brindle")
	mustContain(t, out, "ip6 saddr @masq-pools ip6 daddr != @all-pools masquerade", "fd00:10::/112")
	if r, err := shOK("ip", "-n", b, "-6", "route", "get", "fd00:10::5"); err == nil && !strings.Contains(r, "unreachable") {
		t.Fatalf("the outside host has a route back to the pool, the test would prove nothing: %s", r)
	}
	if o, err := shOK("ip", "netns", "exec", w, "ping", "-6", "-n", "-c", "2", "-W", "2", "fd00:1::2"); err != nil {
		t.Fatalf("ping from the workload to the outside failed: %v\n%s", err, o)
	}

	// A restarted agent leaves the table as it is; without IPv6 pools it goes.
	dp2, logs := newObservedDP(t, a)
	apply(t, dp2, calc.Compute(s))
	if n := countLogs(logs, "IPv6 nftables table written"); n != 0 {
		t.Errorf("restart rewrote the ip6 table %d times", n)
	}
	if o := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip6", "brindle"); o != out {
		t.Errorf("restart changed the table:\n%s\nwas\n%s", o, out)
	}
	s.DeletePool(netip.MustParsePrefix("fd00:10::/112"))
	apply(t, dp2, calc.Compute(s))
	if o, err := shOK("ip", "netns", "exec", a, "nft", "list", "table", "ip6", "brindle"); err == nil {
		t.Errorf("ip6 brindle still there without IPv6 pools:\n%s", o)
	}
	mustContain(t, sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle"), "masquerade")
}

// TestIPv6VXLANDevice: an IPv6 VXLAN pool gives vxlan-v6.calico (IPv6 underlay, Calico's
// VNI, port and MTU uplink-70), its /128 tunnel address, a permanent IPv6 neighbour and FDB
// entry per remote VTEP and routes through it; a restart rewrites nothing, and the device
// goes with the pool.
func TestIPv6VXLANDevice(t *testing.T) {
	needRoot(t)
	a, _ := dualPair(t)
	s := dualState("node-a")
	s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("fd00:10::/112"), BlockSize: 122, VXLANMode: calc.ModeAlways})
	for name, tun := range map[string]string{"node-a": "fd00:10::1", "node-b": "fd00:10::41"} {
		n := s.Nodes[name]
		n.VXLANTunnelAddrV6 = netip.MustParseAddr(tun)
		s.SetNode(n)
	}
	dp := newDP(t, a)
	apply(t, dp, calc.Compute(s))
	mac := calc.VXLANMACV6(calc.Node{Name: "node-b"}).String()
	mustContain(t, sh(t, "ip", "-n", a, "-d", "link", "show", "vxlan-v6.calico"),
		"mtu 1430", "vxlan id 4096 local fd00:1::1 dev eth0", "dstport 4789", calc.VXLANMACV6(calc.Node{Name: "node-a"}).String())
	mustContain(t, sh(t, "ip", "-n", a, "-6", "addr", "show", "dev", "vxlan-v6.calico"), "inet6 fd00:10::1/128")
	mustContain(t, sh(t, "ip", "-n", a, "-6", "neigh", "show", "dev", "vxlan-v6.calico"), "fd00:10::41 lladdr "+mac+" PERMANENT")
	mustContain(t, sh(t, "bridge", "-n", a, "fdb", "show", "dev", "vxlan-v6.calico"), mac+" dst fd00:1::2 self permanent")
	mustContain(t, sh(t, "ip", "-n", a, "-6", "route", "show"), "fd00:10::40/122 via fd00:10::41 dev vxlan-v6.calico proto 80 metric 1024 onlink")
	if o, err := shOK("ip", "-n", a, "link", "show", "vxlan.calico"); err == nil {
		t.Errorf("vxlan.calico created for an IPv6 pool:\n%s", o)
	}

	// VXLAN over IPv6 is accepted from the nodes' IPv6 addresses only.
	mustContain(t, sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip6", "brindle"),
		"udp dport 4789 ip6 saddr @all-hosts accept", "udp dport 4789 counter packets", "fd00:1::1", "fd00:1::2")

	dp2, logs := newObservedDP(t, a)
	apply(t, dp2, calc.Compute(s))
	if st := dp2.Stats(); st.RouteWrites != 0 || st.VTEPWrites != 0 {
		t.Errorf("restart rewrote %d routes and %d VTEP entries", st.RouteWrites, st.VTEPWrites)
	}
	if n := countLogs(logs, "IPv6 nftables table written"); n != 0 {
		t.Errorf("restart rewrote the ip6 table %d times", n)
	}
	s.DeletePool(netip.MustParsePrefix("fd00:10::/112"))
	apply(t, dp2, calc.Compute(s))
	if o, err := shOK("ip", "-n", a, "link", "show", "vxlan-v6.calico"); err == nil {
		t.Errorf("vxlan-v6.calico still there without an IPv6 VXLAN pool:\n%s", o)
	}
}
