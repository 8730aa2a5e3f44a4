// Package storebench measures the store against a real embedded etcd member (one member,
// loopback, data dir in the test's temp dir). Run: go test -run XXX -bench . ./bench/store/
package storebench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

const perIteration = 500 // operations per benchmark iteration, so -benchtime 1x still measures

func profile(name string) *api.Profile {
	return &api.Profile{ObjectMeta: api.ObjectMeta{Name: name},
		Spec: api.ProfileSpec{Ingress: []api.Rule{{Action: "Allow"}}, Egress: []api.Rule{{Action: "Allow"}}}}
}

func rate(b *testing.B, ops int, d time.Duration, unit string) {
	b.ReportMetric(float64(ops)/d.Seconds(), unit)
}

// BenchmarkCreate: sequential typed creates (one client, one at a time).
func BenchmarkCreate(b *testing.B) {
	_, c := datastore.StartTest(b)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := 0; j < perIteration; j++ {
			if _, err := c.Create(ctx, profile(fmt.Sprintf("p-%d-%d", i, j))); err != nil {
				b.Fatal(err)
			}
		}
	}
	rate(b, b.N*perIteration, time.Since(start), "creates/s")
}

// BenchmarkCreateParallel: 16 concurrent writers on one client, as several CNI calls at once.
func BenchmarkCreateParallel(b *testing.B) {
	_, c := datastore.StartTest(b)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < perIteration; j += 16 {
					if _, err := c.Create(ctx, profile(fmt.Sprintf("p-%d-%d", i, j))); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	rate(b, b.N*perIteration, time.Since(start), "creates/s")
}

// BenchmarkGet: sequential typed gets of existing resources (linearizable reads).
func BenchmarkGet(b *testing.B) {
	_, c := datastore.StartTest(b)
	ctx := context.Background()
	for j := 0; j < 100; j++ {
		if _, err := c.Create(ctx, profile(fmt.Sprintf("p-%d", j))); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := 0; j < perIteration; j++ {
			if _, err := c.Get(ctx, "Profile", "", fmt.Sprintf("p-%d", j%100)); err != nil {
				b.Fatal(err)
			}
		}
	}
	rate(b, b.N*perIteration, time.Since(start), "gets/s")
}

// BenchmarkList1000: listing (and decoding) 1,000 resources.
func BenchmarkList1000(b *testing.B) {
	_, c := datastore.StartTest(b)
	ctx := context.Background()
	for j := 0; j < 1000; j++ {
		if _, err := c.Create(ctx, profile(fmt.Sprintf("p-%04d", j))); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		items, _, err := c.List(ctx, "Profile", "")
		if err != nil {
			b.Fatal(err)
		}
		if len(items) != 1001 { // plus the synthesised default-allow profile
			b.Fatalf("listed %d", len(items))
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/list")
}

// BenchmarkWatchDelivery: writes to events delivered to a watcher, end to end.
func BenchmarkWatchDelivery(b *testing.B) {
	_, c := datastore.StartTest(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, _ := api.LookupKind("Profile")
	ch := c.Watch(ctx, store.WatchOptions{Prefixes: []string{store.ListPrefix(k, "")}})
	<-ch // the initial snapshot
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		go func() {
			for j := 0; j < perIteration; j++ {
				if _, err := c.Create(ctx, profile(fmt.Sprintf("w-%d-%d", i, j))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
		for seen := 0; seen < perIteration; {
			batch := <-ch
			seen += len(batch.Events)
		}
	}
	rate(b, b.N*perIteration, time.Since(start), "events/s")
}
