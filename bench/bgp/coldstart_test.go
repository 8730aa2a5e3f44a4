package bgpbench

import (
	"fmt"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

// BenchmarkColdStartRR200: the reflector runs alone in a helper process (as it would on its
// node) with its 200 client peers configured; 200 clients in this process, each already
// originating its block, are then given their peer at once. It reports the time until the
// reflector has every session up and every block, and until every client has learned the
// 199 other blocks plus the reflector's. A client's first connect waits a random 1-2 s
// (GoBGP's minimum connect delay), which is the floor of this figure.
func BenchmarkColdStartRR200(b *testing.B) {
	const n = 200
	fmt.Printf("| %-36s | %12s | %14s |\n", "cold start, 1 RR + 200 clients", "RR done (s)", "clients done (s)")
	fmt.Printf("|%s|%s|%s|\n", dashes(38), dashes(14), dashes(16))
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		net := bgptest.Loopback(b, n+1)
		var rrPeers []bgp.Peer
		for i := 1; i <= n; i++ {
			p := net.Peer(0, i, benchAS, bgp.PeerNodeSpecific)
			p.RRClient, p.RRClusterID = true, "1.1.1.1"
			rrPeers = append(rrPeers, p)
		}
		rr := startHelper(b, helperConfig{Opts: speakerOpts(net.Addrs[0], net.Port), Peers: rrPeers,
			Adverts: []bgp.Advertisement{{Prefix: newBlock(0)}}})
		sp := make([]*bgp.Speaker, n+1)
		for i := 1; i <= n; i++ {
			sp[i] = bgptest.StartSpeaker(b, net, i, bgptest.Options{AS: benchAS})
			if err := sp[i].SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: newBlock(i)}}); err != nil {
				b.Fatal(err)
			}
		}
		bgptest.WaitFor(b, 10*time.Second, "reflector ready", func() (bool, string) { return rr.get("goroutines") > 0, "no STAT yet" })
		b.StartTimer()
		start := time.Now()
		for i := 1; i <= n; i++ {
			if err := sp[i].SetPeers(ctx, []bgp.Peer{net.Peer(i, 0, benchAS, bgp.PeerNodeSpecific)}); err != nil {
				b.Fatal(err)
			}
		}
		var rrDone time.Duration
		for _, s := range sp[1:] {
			bgptest.WaitFor(b, 60*time.Second, "all routes", func() (bool, string) {
				if rrDone == 0 && rr.get("up") == n && rr.get("learned") == n {
					rrDone = time.Since(start)
				}
				got := len(s.LearnedRoutes())
				return got == n, fmt.Sprintf("%s learned %d of %d", s.RouterID(), got, n)
			})
		}
		all := time.Since(start)
		bgptest.WaitFor(b, 10*time.Second, "reflector done", func() (bool, string) {
			if rrDone == 0 && rr.get("up") == n && rr.get("learned") == n {
				rrDone = time.Since(start)
			}
			return rrDone != 0, fmt.Sprintf("rr up=%d learned=%d", rr.get("up"), rr.get("learned"))
		})
		b.StopTimer()
		fmt.Printf("| %-36s | %12.2f | %14.2f |\n", fmt.Sprintf("run %d", it+1), rrDone.Seconds(), all.Seconds())
		for _, s := range sp[1:] {
			_ = s.Shutdown(ctx)
		}
		b.StartTimer()
	}
}

// BenchmarkMemoryRR200: the reflector and one client each run alone in a helper process
// (the other 199 clients share this one); figures once every client has every route.
func BenchmarkMemoryRR200(b *testing.B) {
	const n = 200
	for it := 0; it < b.N; it++ {
		net := bgptest.Loopback(b, n+1)
		var rrPeers []bgp.Peer
		for i := 1; i <= n; i++ {
			p := net.Peer(0, i, benchAS, bgp.PeerNodeSpecific)
			p.RRClient, p.RRClusterID = true, "1.1.1.1"
			rrPeers = append(rrPeers, p)
		}
		rr := startHelper(b, helperConfig{Opts: speakerOpts(net.Addrs[0], net.Port), Peers: rrPeers,
			Adverts: []bgp.Advertisement{{Prefix: newBlock(0)}}})
		client := startHelper(b, helperConfig{Opts: speakerOpts(net.Addrs[n], net.Port),
			Peers: []bgp.Peer{net.Peer(n, 0, benchAS, bgp.PeerNodeSpecific)}, Adverts: []bgp.Advertisement{{Prefix: newBlock(n)}}})
		time.Sleep(300 * time.Millisecond) // the helpers' listeners
		sp := make([]*bgp.Speaker, n)
		for i := 1; i < n; i++ {
			sp[i] = bgptest.StartSpeaker(b, net, i, bgptest.Options{AS: benchAS})
			_ = sp[i].SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: newBlock(i)}})
			if err := sp[i].SetPeers(ctx, []bgp.Peer{net.Peer(i, 0, benchAS, bgp.PeerNodeSpecific)}); err != nil {
				b.Fatal(err)
			}
		}
		bgptest.WaitFor(b, 90*time.Second, "reflector converged", func() (bool, string) {
			return rr.get("up") == n && rr.get("learned") == n && client.get("learned") == n,
				fmt.Sprintf("rr up=%d learned=%d, client learned=%d", rr.get("up"), rr.get("learned"), client.get("learned"))
		})
		time.Sleep(time.Second) // let the last STAT line and the heap settle
		fmt.Printf("| %-24s | %9s | %9s | %12s | %10s |\n", "process", "RSS MiB", "peak MiB", "HeapInuse MiB", "goroutines")
		fmt.Printf("|%s|%s|%s|%s|%s|\n", dashes(26), dashes(11), dashes(11), dashes(14), dashes(12))
		for _, row := range []struct {
			name string
			h    *helperProc
		}{{"RR, 200 clients", rr}, {"client, 201 routes", client}} {
			fmt.Printf("| %-24s | %9.1f | %9.1f | %12.1f | %10d |\n", row.name,
				float64(row.h.procKB("VmRSS"))/1024, float64(row.h.procKB("VmHWM"))/1024,
				float64(row.h.get("heapInuse"))/(1<<20), row.h.get("goroutines"))
		}
		b.ReportMetric(float64(rr.procKB("VmRSS"))/1024, "rr-rss-MiB")
		b.ReportMetric(float64(client.procKB("VmRSS"))/1024, "client-rss-MiB")
	}
}
