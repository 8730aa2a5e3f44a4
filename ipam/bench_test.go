package ipam

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
)

// BenchmarkAutoAssign measures allocation latency (p50/p99) and throughput against a real
// embedded etcd, for 1, 8 and 64 concurrent allocators on one host and spread over 8 hosts.
// Each allocation is released again (untimed) so the pool never fills. One b.N iteration is a
// batch of 512 allocations; run with -benchtime 1x for one batch per case:
//
//	go test -run XXX -bench AutoAssign -benchtime 1x ./ipam/
//
// queue=off is the bare compare-and-swap path; queue=on adds the advisory queue (queue.go).
func BenchmarkAutoAssign(b *testing.B) {
	for _, queue := range []string{QueueOff, QueueOn} {
		for _, hosts := range []int{1, 8} {
			for _, conc := range []int{1, 8, 64} {
				b.Run(fmt.Sprintf("queue=%s/hosts=%d/allocators=%d", queue, hosts, conc), func(b *testing.B) {
					benchAssign(b, queue, hosts, conc)
				})
			}
		}
	}
}

var benchHeader sync.Once

func benchAssign(b *testing.B, queue string, hosts, conc int) {
	benchHeader.Do(func() {
		fmt.Println("\n| queue | hosts | allocators | allocs | p50 ms   | p99 ms   | alloc+release/s  | failures |")
	})
	_, c := datastore.StartTest(b)
	a := New(c, Options{Queue: queue, QueueDir: b.TempDir()})
	mkPool(b, c, "bench", "10.128.0.0/12", 26, "")
	for h := 0; h < hosts; h++ {
		mkNode(b, c, fmt.Sprintf("b%d", h), "")
	}
	ctx := context.Background()
	// Warm up: every host claims its first block outside the timed part.
	for h := 0; h < hosts; h++ {
		host := fmt.Sprintf("b%d", h)
		if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "warm." + host, Hostname: host}); err != nil {
			b.Fatal(err)
		}
	}
	const batch = 512
	var lat []time.Duration
	var mu sync.Mutex
	var elapsed time.Duration
	var fails atomic.Int64
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				host := fmt.Sprintf("b%d", w%hosts)
				var mine []time.Duration
				for {
					i := next.Add(1)
					if i > batch {
						break
					}
					h := fmt.Sprintf("bench.%d.%d", it, i)
					t0 := time.Now()
					_, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: h, Hostname: host})
					d := time.Since(t0)
					if err != nil {
						if fails.Add(1) == 1 {
							b.Logf("first failure: %v", err)
						}
						continue
					}
					mine = append(mine, d)
					if err := a.ReleaseByHandle(ctx, h); err != nil {
						fails.Add(1)
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}(w)
		}
		wg.Wait()
		elapsed += time.Since(start)
	}
	b.StopTimer()
	if len(lat) == 0 {
		b.Fatal("no successful allocations")
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	// Throughput counts allocate+release pairs per second of wall time.
	b.ReportMetric(float64(p(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "alloc+release/s")
	b.ReportMetric(float64(fails.Load()), "failures")
	fmt.Printf("| %-5s | %5d | %10d | %7d | %8.1f | %8.1f | %16.0f | %8d |\n", queue, hosts, conc, len(lat),
		float64(p(0.50).Microseconds())/1000, float64(p(0.99).Microseconds())/1000, float64(len(lat))/elapsed.Seconds(), fails.Load())
	b.Logf("hosts=%d allocators=%d: %d allocations, p50 %s, p99 %s, %.0f alloc+release/s, %d failures",
		hosts, conc, len(lat), p(0.50).Round(time.Microsecond), p(0.99).Round(time.Microsecond), float64(len(lat))/elapsed.Seconds(), fails.Load())
}
