// Package dataplane_bench measures brindle's route programming against the figures the
// issue quotes for Felix (10,000 remote VXLAN blocks in 7.7-8.8 s; one change at 10,000 in
// 177 ms). Needs root: every run builds a fresh namespace with a veth uplink.
//
//	go test -run XXX -bench . -benchtime 3x ./bench/dataplane/
package dataplane_bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/dataplane"
)

func run(b *testing.B, args ...string) {
	b.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// freshHost creates bdp-bench-<rand> with eth0 (10.0.0.1/16) whose peer sits in a second
// namespace; both are deleted by the returned func.
func freshHost(b *testing.B) (string, func()) {
	r := make([]byte, 3)
	rand.Read(r)
	host, peer := "bdp-bench-"+hex.EncodeToString(r), "bdp-benchp-"+hex.EncodeToString(r)
	run(b, "ip", "netns", "add", host)
	run(b, "ip", "netns", "add", peer)
	cleanup := func() {
		exec.Command("ip", "netns", "del", host).Run()
		exec.Command("ip", "netns", "del", peer).Run()
	}
	run(b, "ip", "-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", peer)
	run(b, "ip", "-n", host, "addr", "add", "10.0.0.1/16", "dev", "eth0")
	run(b, "ip", "-n", host, "link", "set", "eth0", "up")
	run(b, "ip", "-n", peer, "link", "set", "eth0", "up")
	return host, cleanup
}

// cluster builds a State with `blocks` remote /26 blocks spread over `nodes` remote nodes.
// With bgp, the blocks' routes are learned with the owner's address as next hop, which the
// dataplane resolves through the kernel (recursive next hops).
func cluster(blocks, nodes int, vxlanMode string, bgp bool) *calc.State {
	s := calc.NewState("local")
	s.Uplink, s.UplinkMTU = "eth0", 1500
	s.SetPool(calc.Pool{CIDR: netip.MustParsePrefix("100.64.0.0/10"), VXLANMode: vxlanMode, NATOutgoing: true, BlockSize: 26})
	s.SetNode(calc.Node{Name: "local", IPv4: netip.MustParsePrefix("10.0.0.1/16"), VXLANTunnelAddr: netip.MustParseAddr("100.64.0.1")})
	s.SetBlock(calc.Block{CIDR: netip.MustParsePrefix("100.64.0.0/26"), Node: "local"})
	for n := range nodes {
		s.SetNode(nodeN(n))
	}
	s.RoutesFromBGP = bgp
	for i := range blocks {
		join(s, nodeN(i%nodes), blockN(i+1, fmt.Sprintf("node-%d", i%nodes)), bgp)
	}
	return s
}

// join adds block b of node n (already known), as BGP would learn it when bgp.
func join(s *calc.State, n calc.Node, b calc.Block, bgp bool) {
	s.SetBlock(b)
	if bgp {
		s.SetLearnedRoute(calc.LearnedRoute{Dst: b.CIDR, NextHop: n.IPv4.Addr()})
	}
}

func nodeN(n int) calc.Node {
	return calc.Node{Name: fmt.Sprintf("node-%d", n),
		IPv4:            netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte((n + 2) >> 8), byte(n + 2)}), 16),
		VXLANTunnelAddr: netip.AddrFrom4([4]byte{100, 127, byte(n >> 8), byte(n)})}
}

// blockN is the i-th /26 of 100.64.0.0/10.
func blockN(i int, node string) calc.Block {
	v := uint32(100)<<24 | uint32(64)<<16 | uint32(i)<<6
	return calc.Block{CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 26), Node: node}
}

type scenario struct {
	name          string
	blocks, nodes int
	mode          string
	bgp           bool // routes learned over BGP, next hops resolved through the kernel
}

var scenarios = []scenario{
	{"vxlan-10000blocks-10000nodes", 10000, 10000, calc.ModeAlways, false},
	{"vxlan-10000blocks-100nodes", 10000, 100, calc.ModeAlways, false},
	{"plain-10000blocks-100nodes", 10000, 100, calc.ModeNever, false},
	{"vxlan-1000blocks-1000nodes", 1000, 1000, calc.ModeAlways, false},
	{"plain-10000blocks-10000nodes", 10000, 10000, calc.ModeNever, false},
	{"bgp-10000blocks-10000nexthops", 10000, 10000, calc.ModeNever, true},
}

func needRoot(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
}

// BenchmarkColdStart: Compute plus the first Apply into an empty namespace.
func BenchmarkColdStart(b *testing.B) {
	needRoot(b)
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			var compute, apply time.Duration
			for range b.N {
				b.StopTimer()
				host, cleanup := freshHost(b)
				dp, err := dataplane.New(dataplane.Options{NetNSPath: "/var/run/netns/" + host})
				if err != nil {
					b.Fatal(err)
				}
				s := cluster(sc.blocks, sc.nodes, sc.mode, sc.bgp)
				runtime.GC()
				b.StartTimer()
				t0 := time.Now()
				d := calc.Compute(s)
				t1 := time.Now()
				if err := dp.Apply(context.Background(), d); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				b.StopTimer()
				compute += t1.Sub(t0)
				apply += t2.Sub(t1)
				st := dp.Stats()
				dp.Close()
				cleanup()
				if st.RouteWrites < sc.blocks {
					b.Fatalf("only %d route writes for %d blocks", st.RouteWrites, sc.blocks)
				}
			}
			n := time.Duration(b.N)
			b.ReportMetric(float64((compute+apply)/n)/1e6, "ms/coldstart")
			fmt.Printf("| cold start | %-30s | compute %8.2f ms | apply %8.2f ms | total %8.2f ms |\n",
				sc.name, ms(compute/n), ms(apply/n), ms((compute+apply)/n))
		})
	}
}

// BenchmarkOneChange: on top of a programmed cluster, one node joins with one block (and
// leaves again on the next iteration): Compute over the whole state plus the incremental
// Apply, as the agent does per change. Changes follow each other at once, so an apply may
// wait for the previous leave's host removal, still in the kernel (see
// BenchmarkOneChangeSpaced for changes 50 ms apart).
func BenchmarkOneChange(b *testing.B) { benchOneChange(b, 0) }

// BenchmarkOneChangeSpaced: the same with 50 ms (not timed) between changes, as changes
// arrive in a real cluster: the latency of one change on its own, join and leave apart.
func BenchmarkOneChangeSpaced(b *testing.B) { benchOneChange(b, 50*time.Millisecond) }

func benchOneChange(b *testing.B, gap time.Duration) {
	needRoot(b)
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			host, cleanup := freshHost(b)
			defer cleanup()
			dp, err := dataplane.New(dataplane.Options{NetNSPath: "/var/run/netns/" + host})
			if err != nil {
				b.Fatal(err)
			}
			defer dp.Close()
			s := cluster(sc.blocks, sc.nodes, sc.mode, sc.bgp)
			if err := dp.Apply(context.Background(), calc.Compute(s)); err != nil {
				b.Fatal(err)
			}
			extra := nodeN(sc.nodes + 1)
			blk := blockN(sc.blocks+1, extra.Name)
			var compute, apply time.Duration
			var totals, joins, leaves []time.Duration
			before := dp.Stats()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := range b.N {
				if gap > 0 {
					b.StopTimer()
					time.Sleep(gap)
					b.StartTimer()
				}
				if i%2 == 0 {
					s.SetNode(extra)
					join(s, extra, blk, sc.bgp)
				} else {
					s.DeleteNode(extra.Name)
					s.DeleteBlock(blk.CIDR)
					s.DeleteLearnedRoute(blk.CIDR)
				}
				t0 := time.Now()
				d := calc.Compute(s)
				t1 := time.Now()
				if err := dp.Apply(context.Background(), d); err != nil {
					b.Fatal(err)
				}
				compute += t1.Sub(t0)
				apply += time.Since(t1)
				totals = append(totals, time.Since(t0))
				if i%2 == 0 {
					joins = append(joins, time.Since(t0))
				} else {
					leaves = append(leaves, time.Since(t0))
				}
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			slices.Sort(totals)
			slices.Sort(joins)
			slices.Sort(leaves)
			after := dp.Stats()
			n := time.Duration(b.N)
			b.ReportMetric(float64((compute+apply)/n)/1e6, "ms/change")
			// The median resists the load of other processes on a shared machine.
			// CPU time (user+system, all threads) per change is what the change costs; wall
			// time on a shared machine also counts waiting for a core.
			label := "one change"
			if gap > 0 {
				label = "spaced change"
			}
			fmt.Printf("| %s | %-30s | compute %8.2f ms | apply %8.2f ms | mean %8.2f ms | median %8.2f ms | join %8.2f ms | leave %8.2f ms | cpu %6.2f ms | writes/change %.1f |\n",
				label, sc.name, ms(compute/n), ms(apply/n), ms((compute+apply)/n), ms(median(totals)),
				ms(median(joins)), ms(median(leaves)), ms(cpu/n),
				float64(after.RouteWrites+after.VTEPWrites+after.NexthopWrites-before.RouteWrites-before.VTEPWrites-before.NexthopWrites)/float64(b.N))
		})
	}
}

// median of a sorted list; 0 when empty.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[len(ds)/2]
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
