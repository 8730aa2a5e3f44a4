package calc

import (
	"math/rand"
	"net/netip"
	"reflect"
	"testing"
)

func wgState() *State {
	s := NewState("n1")
	s.UplinkMTU = 1500
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	s.SetNode(Node{Name: "n1", IPv4: pfx("10.0.1.1/24"), WireguardPublicKey: "k1", WireguardAddr: addr("10.65.0.1")})
	s.SetNode(Node{Name: "n2", IPv4: pfx("10.0.1.2/24"), WireguardPublicKey: "k2", WireguardAddr: addr("10.65.1.1"),
		IPIPTunnelAddr: addr("10.65.1.2")})
	s.SetNode(Node{Name: "n3", IPv4: pfx("10.0.2.3/24")}) // no key: not a peer
	s.SetBlock(Block{CIDR: pfx("10.65.0.0/26"), Node: "n1", Borrowed: []BorrowedIP{{Addr: addr("10.65.0.9"), Node: "n2"}}})
	s.SetBlock(Block{CIDR: pfx("10.65.1.0/26"), Node: "n2", Borrowed: []BorrowedIP{{Addr: addr("10.65.1.7"), Node: "n1"}, {Addr: addr("10.65.1.8"), Node: "n3"}}})
	s.SetBlock(Block{CIDR: pfx("10.65.2.0/26"), Node: "n3"})
	s.SetBlock(Block{CIDR: pfx("fd00::/122"), Node: "n2"}) // IPv6: not for the IPv4 device
	return s
}

func TestComputeWireguard(t *testing.T) {
	pfx := netip.MustParsePrefix
	if d := ComputeWireguard(wgState(), WireguardConfig{}); d != nil {
		t.Fatalf("disabled: want nil, got %+v", d)
	}
	d := ComputeWireguard(wgState(), WireguardConfig{Enabled: true})
	if d.Iface != "wireguard.cali" || d.Port != 51820 || d.MTU != 1440 || d.Table != 1 || d.RulePriority != 99 || d.FwMark != 0x200000 {
		t.Errorf("defaults: %+v", d)
	}
	if d.Addr != netip.MustParseAddr("10.65.0.1") {
		t.Errorf("device address %s", d.Addr)
	}
	want := []WireguardPeer{{Node: "n2", PublicKey: "k2", Endpoint: netip.MustParseAddrPort("10.0.1.2:51820"),
		AllowedIPs: []netip.Prefix{pfx("10.65.0.9/32"), pfx("10.65.1.0/26"), pfx("10.65.1.1/32"), pfx("10.65.1.2/32")}}}
	if !reflect.DeepEqual(d.Peers, want) {
		t.Errorf("peers:\n got %+v\nwant %+v", d.Peers, want)
	}
	if !reflect.DeepEqual(d.Routes, want[0].AllowedIPs) {
		t.Errorf("routes %v", d.Routes)
	}
	if want := []netip.Prefix{pfx("10.65.1.7/32"), pfx("10.65.1.8/32")}; !reflect.DeepEqual(d.Throw, want) {
		t.Errorf("throw routes %v, want %v (addresses of n2's block held by n1 itself and by n3, which has no key)", d.Throw, want)
	}
	if len(d.Reasons) != 1 || d.Reasons[0].Subject != "n3" {
		t.Errorf("reasons %+v", d.Reasons)
	}
	d = ComputeWireguard(wgState(), WireguardConfig{Enabled: true, MTU: 1300, Port: 5000, RulePriority: 50, HostEncryption: true})
	if d.MTU != 1300 || d.Port != 5000 || d.RulePriority != 50 || d.Peers[0].Endpoint.Port() != 5000 {
		t.Errorf("settings not taken: %+v", d)
	}
	if d.Peers[0].AllowedIPs[0] != pfx("10.0.1.2/32") {
		t.Errorf("host encryption: the peer's host address is not an allowed IP: %v", d.Peers[0].AllowedIPs)
	}
}

// TestComputeWireguardOrder: the result depends on the state, not on the order it was built in.
func TestComputeWireguardOrder(t *testing.T) {
	ref := ComputeWireguard(wgState(), WireguardConfig{Enabled: true})
	src := wgState()
	var nodes []Node
	for _, n := range src.Nodes {
		nodes = append(nodes, n)
	}
	var blocks []Block
	for _, b := range src.Blocks {
		blocks = append(blocks, b)
	}
	for i := range 20 {
		r := rand.New(rand.NewSource(int64(i)))
		r.Shuffle(len(nodes), func(a, b int) { nodes[a], nodes[b] = nodes[b], nodes[a] })
		r.Shuffle(len(blocks), func(a, b int) { blocks[a], blocks[b] = blocks[b], blocks[a] })
		s := NewState("n1")
		s.UplinkMTU = 1500
		for _, b := range blocks {
			s.SetBlock(b)
		}
		for _, n := range nodes {
			s.SetNode(n)
		}
		if got := ComputeWireguard(s, WireguardConfig{Enabled: true}); !reflect.DeepEqual(got, ref) {
			t.Fatalf("order %d: got %+v\nwant %+v", i, got, ref)
		}
	}
}

// wgState6 is a dual-stack state: n2 publishes both keys, n3 only the IPv4 one (its IPv6 device
// is not running), n4 has an IPv6 key but no IPv6 address.
func wgState6() *State {
	s := wgState()
	pfx, addr := netip.MustParsePrefix, netip.MustParseAddr
	n1 := s.Nodes["n1"]
	n1.IPv6, n1.WireguardPublicKeyV6, n1.WireguardAddrV6 = pfx("fc00::1/64"), "k1v6", addr("fd00::1")
	s.SetNode(n1)
	n2 := s.Nodes["n2"]
	n2.IPv6, n2.WireguardPublicKeyV6, n2.WireguardAddrV6, n2.VXLANTunnelAddrV6 = pfx("fc00::2/64"), "k2v6", addr("fd00::2"), addr("fd00::3")
	s.SetNode(n2)
	n3 := s.Nodes["n3"]
	n3.IPv6, n3.WireguardPublicKey = pfx("fc00::3/64"), "k3"
	s.SetNode(n3)
	s.SetNode(Node{Name: "n4", IPv4: pfx("10.0.2.4/24"), WireguardPublicKeyV6: "k4v6"})
	s.SetBlock(Block{CIDR: pfx("fd00::40/122"), Node: "n1", Borrowed: []BorrowedIP{{Addr: addr("fd00::41"), Node: "n2"}}})
	s.SetBlock(Block{CIDR: pfx("fd00::80/122"), Node: "n3", Borrowed: []BorrowedIP{{Addr: addr("fd00::81"), Node: "n1"}}})
	s.SetBlock(Block{CIDR: pfx("fd00::c0/122"), Node: "n4"})
	return s
}

func TestComputeWireguardV6(t *testing.T) {
	pfx := netip.MustParsePrefix
	d := ComputeWireguard(wgState6(), WireguardConfig{Family: WireguardV6, Enabled: true, HostEncryption: true})
	if !d.IPv6 || d.Iface != "wg-v6.cali" || d.Port != 51821 || d.MTU != 1420 || d.Table != 2 || d.RulePriority != 99 || d.FwMark != 0x200000 {
		t.Errorf("IPv6 defaults: %+v", d)
	}
	if d.Addr != netip.MustParseAddr("fd00::1") {
		t.Errorf("device address %s", d.Addr)
	}
	// n2: its IPv6 block, the address it borrowed from n1's block, its device and VXLAN-v6
	// addresses; no IPv4 prefix and no host address (host encryption is IPv4 only, as in felix).
	want := []WireguardPeer{{Node: "n2", PublicKey: "k2v6", Endpoint: netip.MustParseAddrPort("[fc00::2]:51821"),
		AllowedIPs: []netip.Prefix{pfx("fd00::/122"), pfx("fd00::2/128"), pfx("fd00::3/128"), pfx("fd00::41/128")}}}
	if !reflect.DeepEqual(d.Peers, want) {
		t.Errorf("peers:\n got %+v\nwant %+v", d.Peers, want)
	}
	if !reflect.DeepEqual(d.Routes, want[0].AllowedIPs) {
		t.Errorf("routes %v", d.Routes)
	}
	if want := []netip.Prefix{pfx("fd00::81/128")}; !reflect.DeepEqual(d.Throw, want) {
		t.Errorf("throw routes %v, want %v (n1's own address in n3's block)", d.Throw, want)
	}
	var why []string
	for _, r := range d.Reasons {
		why = append(why, r.Subject+": "+r.Reason)
	}
	if want := []string{"n3: no IPv6 WireGuard public key: traffic to it is not encrypted", "n4: no IPv6 address for the WireGuard endpoint"}; !reflect.DeepEqual(why, want) {
		t.Errorf("reasons %q, want %q", why, want)
	}
	d = ComputeWireguard(wgState6(), WireguardConfig{Family: WireguardV6, Enabled: true, Iface: "wg6", Port: 6000, MTU: 1280})
	if d.Iface != "wg6" || d.Port != 6000 || d.MTU != 1280 || d.Peers[0].Endpoint.Port() != 6000 {
		t.Errorf("settings not taken: %+v", d)
	}
	// The IPv4 device of the same state is unchanged by the IPv6 keys: n3 is a peer now (it
	// has an IPv4 key) and no IPv6 prefix appears.
	d4 := ComputeWireguard(wgState6(), WireguardConfig{Enabled: true})
	if d4.IPv6 || d4.Table != 1 || len(d4.Peers) != 2 || d4.Peers[1].Node != "n3" {
		t.Fatalf("IPv4 device: %+v", d4)
	}
	for _, r := range d4.Routes {
		if !r.Addr().Is4() {
			t.Errorf("IPv4 device routes %s", r)
		}
	}
}
