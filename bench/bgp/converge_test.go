// Package bgpbench measures the embedded speaker: convergence of a new block to the other
// speakers' learned-route queues (mesh of 3; one route reflector with 200 clients), cold
// start of 200 clients through one reflector, and the memory of a reflector process.
// Figures are printed as tables; nothing here asserts on time.
//
//	go test ./bench/bgp -run '^$' -bench . -benchtime 20x
package bgpbench

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

var ctx = context.Background()

const benchAS = 64512

// arrivals records when each speaker's learned queue first shows a prefix. Each speaker
// has a consumer that does what the agent loop does: wait for the signal, drain.
type arrivals struct {
	mu   sync.Mutex
	seen map[netip.Prefix]map[int]time.Time
	want int
	done map[netip.Prefix]chan struct{}
}

func watchArrivals(sp []*bgp.Speaker, want int) *arrivals {
	a := &arrivals{seen: map[netip.Prefix]map[int]time.Time{}, want: want, done: map[netip.Prefix]chan struct{}{}}
	for i, s := range sp {
		go func() {
			for range s.LearnedReady() {
				now := time.Now()
				for _, r := range s.DrainLearned() {
					if !r.Withdrawn {
						a.record(r.Prefix, i, now)
					}
				}
			}
		}()
	}
	return a
}

func (a *arrivals) expect(p netip.Prefix) chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	ch := make(chan struct{})
	a.done[p] = ch
	if a.seen[p] == nil {
		a.seen[p] = map[int]time.Time{}
	}
	return ch
}

func (a *arrivals) record(p netip.Prefix, i int, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.seen[p]
	if m == nil {
		m = map[int]time.Time{}
		a.seen[p] = m
	}
	if _, ok := m[i]; ok {
		return
	}
	m[i] = t
	if len(m) == a.want {
		if ch, ok := a.done[p]; ok {
			close(ch)
		}
	}
}

func (a *arrivals) last(p netip.Prefix) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	var last time.Time
	for _, t := range a.seen[p] {
		if t.After(last) {
			last = t
		}
	}
	return last
}

func newBlock(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(100 + i/1024), byte(i / 4 % 256), byte(i % 4 * 64)}), 26)
}

// advertiseLoop adds one new block per iteration on origin and waits until every other
// speaker has drained it; it prints p50/p90/max and reports them as metrics.
func advertiseLoop(b *testing.B, name string, origin *bgp.Speaker, a *arrivals) {
	var lat []time.Duration
	var blocks []bgp.Advertisement
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := newBlock(i)
		ch := a.expect(p)
		blocks = append(blocks, bgp.Advertisement{Prefix: p})
		start := time.Now()
		if err := origin.SetAdvertisements(ctx, blocks); err != nil {
			b.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			b.Fatalf("block %s did not reach every speaker", p)
		}
		lat = append(lat, a.last(p).Sub(start))
	}
	b.StopTimer()
	report(b, name, lat)
}

func report(b *testing.B, name string, lat []time.Duration) {
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max")
	fmt.Printf("| %-44s | %5d | %9.2f | %9.2f | %9.2f |\n", name, len(lat),
		ms(q(0.5)), ms(q(0.9)), ms(lat[len(lat)-1]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printHeader() {
	fmt.Printf("| %-44s | %5s | %9s | %9s | %9s |\n", "new block -> learned queue of all others", "n", "p50 ms", "p90 ms", "max ms")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", dashes(46), dashes(7), dashes(11), dashes(11), dashes(11))
}

func dashes(n int) string { return strings.Repeat("-", n) }

func waitAll(b *testing.B, sp []*bgp.Speaker, timeout time.Duration) {
	for _, s := range sp {
		bgptest.WaitFor(b, timeout, "sessions up", func() (bool, string) { return bgptest.Established(s) })
	}
}

// BenchmarkConvergeMesh3: full mesh of three speakers; node 0 originates.
func BenchmarkConvergeMesh3(b *testing.B) {
	net := bgptest.Loopback(b, 3)
	sp := make([]*bgp.Speaker, 3)
	for i := range sp {
		sp[i] = bgptest.StartSpeaker(b, net, i, bgptest.Options{AS: benchAS})
	}
	for i, s := range sp {
		if err := s.SetPeers(ctx, net.MeshPeers(i, benchAS)); err != nil {
			b.Fatal(err)
		}
	}
	waitAll(b, sp, 30*time.Second)
	a := watchArrivals(sp[1:], 2)
	printHeader()
	advertiseLoop(b, "mesh of 3", sp[0], a)
}

// startRR starts a reflector (address 0) and n clients, each peering only with it, the
// seed's layout. It returns the speakers once every session is up.
func startRR(b *testing.B, n int) (bgptest.Net, []*bgp.Speaker, time.Duration) {
	net := bgptest.Loopback(b, n+1)
	sp := make([]*bgp.Speaker, n+1)
	for i := range sp {
		sp[i] = bgptest.StartSpeaker(b, net, i, bgptest.Options{AS: benchAS})
	}
	start := time.Now()
	var rrPeers []bgp.Peer
	for i := 1; i <= n; i++ {
		p := net.Peer(0, i, benchAS, bgp.PeerNodeSpecific)
		p.RRClient, p.RRClusterID = true, "1.1.1.1"
		rrPeers = append(rrPeers, p)
	}
	if err := sp[0].SetPeers(ctx, rrPeers); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := sp[i].SetPeers(ctx, []bgp.Peer{net.Peer(i, 0, benchAS, bgp.PeerNodeSpecific)}); err != nil {
			b.Fatal(err)
		}
	}
	waitAll(b, sp, 60*time.Second)
	return net, sp, time.Since(start)
}

// BenchmarkConvergeRR200: one reflector with 200 clients; client 1 originates, the other
// 199 clients must drain the block. "same process" runs the reflector next to the clients;
// "own process" runs it in a helper process, as it would run on its own node.
func BenchmarkConvergeRR200(b *testing.B) {
	b.Run("same-process", func(b *testing.B) {
		_, sp, _ := startRR(b, 200)
		a := watchArrivals(sp[2:], 199)
		printHeader()
		advertiseLoop(b, "via one RR (same process) to 199 clients", sp[1], a)
	})
	b.Run("own-process", func(b *testing.B) {
		const n = 200
		net := bgptest.Loopback(b, n+1)
		var rrPeers []bgp.Peer
		for i := 1; i <= n; i++ {
			p := net.Peer(0, i, benchAS, bgp.PeerNodeSpecific)
			p.RRClient, p.RRClusterID = true, "1.1.1.1"
			rrPeers = append(rrPeers, p)
		}
		startHelper(b, helperConfig{Opts: speakerOpts(net.Addrs[0], net.Port), Peers: rrPeers})
		sp := make([]*bgp.Speaker, n+1)
		for i := 1; i <= n; i++ {
			sp[i] = bgptest.StartSpeaker(b, net, i, bgptest.Options{AS: benchAS})
			if err := sp[i].SetPeers(ctx, []bgp.Peer{net.Peer(i, 0, benchAS, bgp.PeerNodeSpecific)}); err != nil {
				b.Fatal(err)
			}
		}
		waitAll(b, sp[1:], 60*time.Second)
		a := watchArrivals(sp[2:], 199)
		printHeader()
		advertiseLoop(b, "via one RR (own process) to 199 clients", sp[1], a)
	})
}
