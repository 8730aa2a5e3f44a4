package calc

import (
	"fmt"
	"math/rand"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// rebuild is a fresh State holding the same inputs as s: Compute on it derives everything
// from scratch.
func rebuild(s *State) *State {
	f := NewState(s.NodeName)
	f.Uplink, f.UplinkMTU, f.RoutesFromBGP = s.Uplink, s.UplinkMTU, s.RoutesFromBGP
	for _, n := range s.Nodes {
		f.SetNode(n)
	}
	for _, p := range s.Pools {
		f.SetPool(p)
	}
	for _, b := range s.Blocks {
		f.SetBlock(b)
	}
	for _, w := range s.Workloads {
		f.SetWorkload(w)
	}
	for _, l := range s.Learned {
		f.SetLearnedRoute(l)
	}
	return f
}

// randomChange applies one random event over a small universe of names and addresses, so
// that collisions (two nodes on one tunnel address, a workload /32 inside a /32 block, a
// learned route for a local block) happen often.
func randomChange(r *rand.Rand, s *State) string {
	node := func() string { return fmt.Sprintf("n%d", r.Intn(8)) }
	a4 := func(a, b byte) netip.Addr {
		return netip.AddrFrom4([4]byte{a, b, byte(r.Intn(4)), byte(r.Intn(3) * 64)})
	}
	pools := []string{"10.96.0.0/12", "192.168.0.0/16", "10.96.0.0/16", "172.20.0.0/16"}
	modes := []string{"", ModeNever, ModeAlways, ModeCrossSubnet}
	switch op := r.Intn(100); {
	case op < 22:
		n := Node{Name: node()}
		if r.Intn(6) > 0 {
			n.IPv4 = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(r.Intn(2)), byte(1 + r.Intn(6))}), 24)
		}
		if r.Intn(4) > 0 {
			n.VXLANTunnelAddr = netip.AddrFrom4([4]byte{10, 96, byte(r.Intn(5)), 1})
		}
		if r.Intn(3) > 0 {
			n.IPIPTunnelAddr = netip.AddrFrom4([4]byte{192, 168, byte(r.Intn(5)), 1})
		}
		if r.Intn(5) == 0 {
			n.VXLANMAC = net.HardwareAddr{2, 0, 0, 0, 0, byte(r.Intn(3))}
		}
		s.SetNode(n)
		return "set node " + n.Name
	case op < 28:
		n := node()
		s.DeleteNode(n)
		return "delete node " + n
	case op < 52:
		bits := 26
		if r.Intn(5) == 0 {
			bits = 32
		}
		base := [][2]byte{{10, 96}, {192, 168}, {172, 20}, {10, 200}}[r.Intn(4)]
		b := Block{CIDR: netip.PrefixFrom(a4(base[0], base[1]), bits).Masked()}
		if r.Intn(6) > 0 {
			b.Node = node()
		}
		for range r.Intn(3) {
			b.Borrowed = append(b.Borrowed, BorrowedIP{Addr: b.CIDR.Addr().Next(), Node: node()})
		}
		s.SetBlock(b)
		return "set block " + b.CIDR.String()
	case op < 60:
		for cidr := range s.Blocks {
			s.DeleteBlock(cidr)
			return "delete block " + cidr.String()
		}
	case op < 66:
		p := Pool{CIDR: pfx(pools[r.Intn(len(pools))]), IPIPMode: modes[r.Intn(4)], VXLANMode: modes[r.Intn(4)],
			NATOutgoing: r.Intn(2) == 0, Disabled: r.Intn(4) == 0, BlockSize: 26}
		s.SetPool(p)
		return "set pool " + p.CIDR.String()
	case op < 69:
		p := pfx(pools[r.Intn(len(pools))])
		s.DeletePool(p)
		return "delete pool " + p.String()
	case op < 77:
		iface := fmt.Sprintf("cali%d", r.Intn(4))
		w := LocalWorkload{Iface: iface, IPs: []netip.Prefix{netip.PrefixFrom(a4(10, 96).Next(), 32)}}
		if r.Intn(4) == 0 {
			w.IPs = append(w.IPs, pfx("fd00::5/128"), netip.PrefixFrom(a4(192, 168), 32))
		}
		s.SetWorkload(w)
		return "set workload " + iface
	case op < 80:
		iface := fmt.Sprintf("cali%d", r.Intn(4))
		s.DeleteWorkload(iface)
		return "delete workload " + iface
	case op < 90:
		base := [][2]byte{{10, 96}, {192, 168}, {172, 20}, {10, 200}}[r.Intn(4)]
		l := LearnedRoute{Dst: netip.PrefixFrom(a4(base[0], base[1]), 26), NextHop: netip.AddrFrom4([4]byte{10, 0, byte(r.Intn(2)), byte(1 + r.Intn(6))})}
		s.SetLearnedRoute(l)
		return "learned " + l.Dst.String()
	case op < 93:
		for dst := range s.Learned {
			s.DeleteLearnedRoute(dst)
			return "withdrawn " + dst.String()
		}
	case op < 95:
		var rs []LearnedRoute
		for dst, l := range s.Learned {
			if r.Intn(2) == 0 {
				rs = append(rs, LearnedRoute{Dst: dst, NextHop: l.NextHop})
			}
		}
		s.ReplaceLearnedRoutes(rs)
		return "replace learned"
	case op < 97:
		s.RoutesFromBGP = !s.RoutesFromBGP
		return "toggle bgp"
	case op < 99:
		s.Uplink = []string{"eth0", "ens3"}[r.Intn(2)]
		s.UplinkMTU = []int{0, 1500, 9000}[r.Intn(3)]
		return "uplink"
	default:
		s.NodeName = node()
		return "rename local node"
	}
	return "nothing"
}

// TestIncrementalEqualsFresh drives random sequences of changes through one State, calling
// Compute after a random number of them (so that several changes coalesce, as the agent's
// batches do), and checks every result against a computation from scratch.
func TestIncrementalEqualsFresh(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewSource(seed))
		s := NewState("n0")
		s.Uplink = "eth0"
		var steps []string
		nonEmpty, partial := 0, 0
		var prev Desired
		for range 300 {
			for range 1 + r.Intn(3) {
				steps = append(steps, randomChange(r, s))
			}
			got := Compute(s)
			want := Compute(rebuild(s))
			if !sameDesired(got, want) {
				t.Fatalf("seed %d after %d changes (last %v): incremental differs from fresh:\n%s",
					seed, len(steps), steps[max(0, len(steps)-3):], diffDesired(want, got))
			}
			if err := checkDelta(prev, got); err != "" {
				t.Fatalf("seed %d after %d changes (last %v): %s", seed, len(steps), steps[max(0, len(steps)-3):], err)
			}
			if !got.Delta.Full {
				partial++
			}
			prev = got
			if len(got.Routes) > 3 {
				nonEmpty++
			}
		}
		if partial < 100 {
			t.Fatalf("seed %d: only %d of 300 results had a delta", seed, partial)
		}
		if nonEmpty < 100 {
			t.Fatalf("seed %d: only %d of 300 steps had more than 3 routes: the fixture proves little", seed, nonEmpty)
		}
	}
}

// checkDelta verifies that a result's Delta follows the previous result and names every
// route, VTEP and host that differs between the two.
func checkDelta(prev, got Desired) string {
	d := got.Delta
	if d == nil {
		return "no Delta"
	}
	if d.Full {
		return ""
	}
	if prev.Delta == nil || d.Prev != prev.Delta.Seq || d.Seq == d.Prev {
		return fmt.Sprintf("delta %d->%d does not follow result %v", d.Prev, d.Seq, prev.Delta)
	}
	if !slices.IsSortedFunc(d.Routes, comparePrefix) {
		return "delta routes not sorted"
	}
	routes := func(rs []Route) map[netip.Prefix]Route {
		m := map[netip.Prefix]Route{}
		for _, r := range rs {
			m[r.Dst] = r
		}
		return m
	}
	a, b := routes(prev.Routes), routes(got.Routes)
	for dst := range joinKeys(a, b) {
		ra, okA := a[dst]
		rb, okB := b[dst]
		if (okA != okB || !reflect.DeepEqual(ra, rb)) && !slices.Contains(d.Routes, dst) {
			return fmt.Sprintf("route %s changed (%+v -> %+v) but is not in the delta %v", dst, ra, rb, d.Routes)
		}
	}
	vteps := func(vs []VTEP) map[netip.Addr]string {
		m := map[netip.Addr]string{}
		for _, v := range vs {
			m[v.TunnelIP] = fmt.Sprint(v)
		}
		return m
	}
	va, vb := vteps(prev.VTEPs), vteps(got.VTEPs)
	for ip := range joinKeys(va, vb) {
		if va[ip] != vb[ip] && !slices.Contains(d.VTEPs, ip) {
			return fmt.Sprintf("VTEP %s changed but is not in the delta %v", ip, d.VTEPs)
		}
	}
	ha, hb := map[netip.Addr]bool{}, map[netip.Addr]bool{}
	for _, h := range prev.TunnelSources {
		ha[h] = true
	}
	for _, h := range got.TunnelSources {
		hb[h] = true
	}
	for h := range joinKeys(ha, hb) {
		if ha[h] != hb[h] && !slices.Contains(d.Hosts, h) {
			return fmt.Sprintf("host %s changed but is not in the delta %v", h, d.Hosts)
		}
	}
	return ""
}

func joinKeys[K comparable, V any](a, b map[K]V) map[K]struct{} {
	out := map[K]struct{}{}
	for k := range a {
		out[k] = struct{}{}
	}
	for k := range b {
		out[k] = struct{}{}
	}
	return out
}

// TestNoBlackholeForSingleAddressBlockAlone: a local /32 block gets no blackhole even before
// its workload exists (the CNI plugin's own route for it would collide with one).
func TestNoBlackholeForSingleAddressBlockAlone(t *testing.T) {
	s := NewState("n1")
	s.SetNode(Node{Name: "n1", IPv4: pfx("10.0.0.1/24")})
	s.SetPool(Pool{CIDR: pfx("10.244.0.0/16"), BlockSize: 32})
	Compute(s)
	s.SetBlock(Block{CIDR: pfx("10.244.0.7/32"), Node: "n1"})
	if d := Compute(s); len(d.Routes) != 0 {
		t.Fatalf("want no route for a local /32 block without its workload, got %+v", d.Routes)
	}
}
