package calc

import (
	"fmt"
	"math/rand"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// update is one watch event applied to a State.
type update struct {
	name  string
	apply func(*State)
}

// events builds a realistic stream for a cluster of n nodes: nodes, pools, blocks (some with
// borrowed addresses), workloads and learned routes. Each key appears once, so any order of
// application must produce the same final State and therefore the same Desired.
func events(n int) []update {
	var ev []update
	add := func(name string, f func(*State)) { ev = append(ev, update{name, f}) }
	add("pool vxlan", func(s *State) {
		s.SetPool(Pool{CIDR: pfx("10.96.0.0/12"), VXLANMode: ModeCrossSubnet, NATOutgoing: true, BlockSize: 26})
	})
	add("pool ipip", func(s *State) { s.SetPool(Pool{CIDR: pfx("192.168.0.0/16"), IPIPMode: ModeAlways, BlockSize: 26}) })
	add("pool plain", func(s *State) { s.SetPool(Pool{CIDR: pfx("172.20.0.0/16"), BlockSize: 26}) })
	for i := range n {
		name := fmt.Sprintf("node-%d", i)
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i % 2), byte(i + 1)})
		add("node "+name, func(s *State) {
			s.SetNode(Node{Name: name, IPv4: netip.PrefixFrom(ip, 24),
				IPIPTunnelAddr:  netip.AddrFrom4([4]byte{192, 168, byte(i), 1}),
				VXLANTunnelAddr: netip.AddrFrom4([4]byte{10, 96, byte(i), 1})})
		})
		for j, base := range [][2]byte{{10, 96}, {192, 168}, {172, 20}} {
			cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{base[0], base[1], byte(i), 0}), 26)
			b := Block{CIDR: cidr, Node: name}
			if j == 1 && i > 0 {
				b.Borrowed = []BorrowedIP{{Addr: netip.AddrFrom4([4]byte{192, 168, byte(i), 7}), Node: fmt.Sprintf("node-%d", i-1)}}
			}
			add("block "+cidr.String(), func(s *State) { s.SetBlock(b) })
		}
		add("learned "+name, func(s *State) {
			s.SetLearnedRoute(LearnedRoute{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 20, byte(i), 0}), 26), NextHop: ip})
		})
	}
	for i := range 4 {
		iface := fmt.Sprintf("cali%011d", i)
		add("workload "+iface, func(s *State) {
			s.SetWorkload(LocalWorkload{Iface: iface, IPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 96, 0, byte(2 + i)}), 32)}})
		})
	}
	return ev
}

func buildDesired(ev []update, bgp bool) Desired {
	s := NewState("node-0")
	s.Uplink, s.UplinkMTU, s.RoutesFromBGP = "eth0", 9000, bgp
	for _, u := range ev {
		u.apply(s)
	}
	return Compute(s)
}

func TestOrderIndependence(t *testing.T) {
	for _, bgp := range []bool{false, true} {
		ev := events(12)
		want := buildDesired(ev, bgp)
		if len(want.Routes) < 25 || want.VXLAN == nil || want.IPIP == nil || len(want.VTEPs) != 11 {
			t.Fatalf("fixture too small to prove anything: %d routes, vxlan %v, %d vteps", len(want.Routes), want.VXLAN, len(want.VTEPs))
		}
		rev := slices.Clone(ev)
		slices.Reverse(rev)
		if got := buildDesired(rev, bgp); !sameDesired(got, want) {
			t.Fatalf("bgp=%v: reversed order differs:\n%s", bgp, diffDesired(want, got))
		}
		for seed := int64(1); seed <= 20; seed++ {
			sh := slices.Clone(ev)
			rand.New(rand.NewSource(seed)).Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
			if got := buildDesired(sh, bgp); !sameDesired(got, want) {
				t.Fatalf("bgp=%v seed %d: shuffled order differs:\n%s", bgp, seed, diffDesired(want, got))
			}
		}
	}
}

// TestSequence walks states in order (add, change, remove) and checks that each step's output
// equals a fresh computation of the same final state: no history leaks into the result.
func TestSequence(t *testing.T) {
	ev := events(6)
	s := NewState("node-0")
	s.Uplink = "eth0"
	steps := []update{
		{"everything", func(s *State) {
			for _, u := range ev {
				u.apply(s)
			}
		}},
		{"node-3 moves subnet", func(s *State) {
			n := s.Nodes["node-3"]
			n.IPv4 = pfx("10.0.0.200/24")
			s.SetNode(n)
		}},
		{"node-4 removed", func(s *State) { s.DeleteNode("node-4") }},
		{"pool vxlan becomes Always", func(s *State) {
			s.SetPool(Pool{CIDR: pfx("10.96.0.0/12"), VXLANMode: ModeAlways, NATOutgoing: true, BlockSize: 26})
		}},
		{"workload gone", func(s *State) { s.DeleteWorkload("cali00000000001") }},
		{"block released", func(s *State) { s.DeleteBlock(pfx("192.168.2.0/26")) }},
		{"local node gets a new address", func(s *State) {
			n := s.Nodes["node-0"]
			n.IPv4 = pfx("10.0.1.50/24")
			s.SetNode(n)
		}},
		{"uplink renamed", func(s *State) { s.Uplink = "ens3" }},
		{"node-5 gets a VXLAN MAC", func(s *State) {
			n := s.Nodes["node-5"]
			n.VXLANMAC = []byte{2, 0, 0, 0, 0, 5}
			s.SetNode(n)
		}},
		{"ipip pool removed", func(s *State) { s.DeletePool(pfx("192.168.0.0/16")) }},
		{"switch to BGP", func(s *State) { s.RoutesFromBGP = true }},
	}
	var history []update
	for _, st := range steps {
		Compute(s) // fill the memo before the change, so a missed invalidation shows
		st.apply(s)
		history = append(history, st)
		got := Compute(s)
		fresh := NewState("node-0")
		fresh.Uplink = "eth0"
		for _, h := range history {
			h.apply(fresh)
		}
		if want := Compute(fresh); !sameDesired(got, want) {
			t.Fatalf("after %q: incremental state differs from fresh:\n%s", st.name, diffDesired(want, got))
		}
	}
	final := Compute(s)
	noRoute(t, final, "192.168.2.0/26")
	noRoute(t, final, "10.96.0.3/32")
	for _, v := range final.VTEPs {
		if v.Node == "node-4" {
			t.Errorf("removed node still has a VTEP: %+v", v)
		}
	}
	r := route(t, final, "10.96.3.0/26")
	wantVia(t, r, "vxlan.calico", "10.96.3.1", true, "vxlanMode Always")
}

// sameDesired compares two results apart from their Delta, the one part that depends on
// history.
func sameDesired(a, b Desired) bool {
	a.Delta, b.Delta = nil, nil
	return reflect.DeepEqual(a, b)
}

func diffDesired(a, b Desired) string {
	a.Delta, b.Delta = nil, nil
	out := ""
	for i := 0; i < max(len(a.Routes), len(b.Routes)); i++ {
		var ra, rb Route
		if i < len(a.Routes) {
			ra = a.Routes[i]
		}
		if i < len(b.Routes) {
			rb = b.Routes[i]
		}
		if !reflect.DeepEqual(ra, rb) {
			out += fmt.Sprintf("route %d:\n  want %+v\n  got  %+v\n", i, ra, rb)
		}
	}
	if out == "" {
		out = fmt.Sprintf("want %+v\ngot  %+v", a, b)
	}
	return out
}
