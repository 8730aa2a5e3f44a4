package calc

import (
	"fmt"
	"net/netip"
	"testing"
)

func benchState(blocks, nodes int, mode string) *State {
	s := NewState("local")
	s.Uplink, s.UplinkMTU = "eth0", 1500
	s.SetPool(Pool{CIDR: pfx("100.64.0.0/10"), VXLANMode: mode, NATOutgoing: true, BlockSize: 26})
	s.SetNode(Node{Name: "local", IPv4: pfx("10.0.0.1/16"), VXLANTunnelAddr: addr("100.64.0.1")})
	for n := range nodes {
		s.SetNode(Node{Name: fmt.Sprintf("node-%d", n), IPv4: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte((n + 2) >> 8), byte(n + 2)}), 16),
			VXLANTunnelAddr: netip.AddrFrom4([4]byte{100, 127, byte(n >> 8), byte(n)})})
	}
	for i := range blocks {
		v := uint32(100)<<24 | uint32(64)<<16 | uint32(i+1)<<6
		s.SetBlock(Block{CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 26),
			Node: fmt.Sprintf("node-%d", i%nodes)})
	}
	return s
}

// BenchmarkCompute10k: one full computation over 10,000 remote blocks (the agent runs it
// per coalesced batch of changes).
func BenchmarkCompute10k(b *testing.B) {
	for _, sc := range []struct {
		mode  string
		nodes int
	}{{ModeAlways, 100}, {ModeNever, 100}, {ModeAlways, 10000}} {
		b.Run(fmt.Sprintf("vxlan%s-%dnodes", sc.mode, sc.nodes), func(b *testing.B) {
			s := benchState(10000, sc.nodes, sc.mode)
			b.ReportAllocs()
			for b.Loop() {
				Compute(s)
			}
		})
	}
}

// BenchmarkComputeOneChange10k: one node joins with one block (and leaves again on the next
// iteration) on top of 10,000 blocks, then Compute, as the agent does per change.
func BenchmarkComputeOneChange10k(b *testing.B) {
	for _, sc := range []struct {
		mode  string
		nodes int
	}{{ModeAlways, 100}, {ModeNever, 100}, {ModeAlways, 10000}} {
		b.Run(fmt.Sprintf("vxlan%s-%dnodes", sc.mode, sc.nodes), func(b *testing.B) {
			s := benchState(10000, sc.nodes, sc.mode)
			Compute(s)
			extra := Node{Name: "extra", IPv4: pfx("10.0.250.1/16"), VXLANTunnelAddr: addr("100.127.250.1")}
			blk := Block{CIDR: pfx("100.100.0.0/26"), Node: "extra"}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					s.SetNode(extra)
					s.SetBlock(blk)
				} else {
					s.DeleteNode(extra.Name)
					s.DeleteBlock(blk.CIDR)
				}
				i++
				Compute(s)
			}
		})
	}
}

// BenchmarkComputeCold10k: the first Compute of a fresh State (agent start): every input is
// derived.
func BenchmarkComputeCold10k(b *testing.B) {
	for _, nodes := range []int{100, 10000} {
		b.Run(fmt.Sprintf("vxlanAlways-%dnodes", nodes), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				s := benchState(10000, nodes, ModeAlways)
				b.StartTimer()
				Compute(s)
			}
		})
	}
}
