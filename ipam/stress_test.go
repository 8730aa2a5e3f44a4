package ipam

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
)

// The stress test: 8 hosts x 16 workers, 5,000+ allocate/release operations, a
// fifth of them under a context cancelled at a random moment (a killed CNI call). Afterwards
// no address is held twice, every handle matches its blocks, and check is clean after gc.
// It runs with the advisory queue off (correctness must rest on the compare-and-swaps alone)
// and on.
func TestStressRandomCancellation(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	for _, q := range []string{QueueOff, QueueOn} {
		t.Run("queue="+q, func(t *testing.T) { stressRandomCancellation(t, q) })
	}
}

func stressRandomCancellation(t *testing.T, queue string) {
	_, c := datastore.StartTest(t)
	var clk clock
	// Four allocators stand for four processes: each has its own block cache and in-process
	// queue, and with the queue on they meet in the same lock directory.
	dir := t.TempDir()
	var allocs []*Allocator
	for range 4 {
		allocs = append(allocs, New(c, Options{Now: clk.now, Queue: queue, QueueDir: dir}))
	}
	a := allocs[0]
	mkPool(t, c, "p", "10.70.0.0/16", 26, "")
	// Each worker does rounds rounds, and more while the run is short of minOps operations: a
	// slow machine cancels more calls (their deadlines are wall-clock), which does fewer
	// releases, and the run must still reach the 5,000 operations.
	const hosts, workers, rounds, minOps = 8, 16, 26, 5000
	for h := 0; h < hosts; h++ {
		mkNode(t, c, fmt.Sprintf("s%d", h), "")
	}
	ctx := ctxT(t)
	var ops, cancelled atomic.Int64
	var mu sync.Mutex
	running := map[string]netip.Addr{} // handle -> address of workloads left running
	var wg sync.WaitGroup
	var fail atomic.Value
	start := time.Now()
	for h := 0; h < hosts; h++ {
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(host string, w int) {
				defer wg.Done()
				a := allocs[w%len(allocs)]
				for i := 0; i < rounds || ops.Load() < minOps; i++ {
					handle := fmt.Sprintf("net.%s-%d-%d", host, w, i)
					actx, cancel := ctx, context.CancelFunc(func() {})
					if rand.IntN(5) == 0 {
						actx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(8000))*time.Microsecond)
						cancelled.Add(1)
					}
					v4, _, err := a.AutoAssign(actx, AutoAssignArgs{Num4: 1, HandleID: handle, Hostname: host,
						Attrs: map[string]string{AttrContainerID: handle[4:]}})
					cancel()
					ops.Add(1)
					if err != nil {
						if actx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
							fail.Store(fmt.Sprintf("assign %s: %v", handle, err))
							return
						}
						continue // killed mid-call: whatever it left is for gc
					}
					if i%4 == 3 {
						mu.Lock()
						running[handle] = v4[0].Addr()
						mu.Unlock()
						continue
					}
					rctx, rcancel := ctx, context.CancelFunc(func() {})
					if rand.IntN(10) == 0 {
						rctx, rcancel = context.WithTimeout(ctx, time.Duration(rand.IntN(4000))*time.Microsecond)
						cancelled.Add(1)
					}
					err = a.ReleaseByHandle(rctx, handle)
					rcancel()
					ops.Add(1)
					if err != nil && rctx.Err() == nil {
						fail.Store(fmt.Sprintf("release %s: %v", handle, err))
						return
					}
				}
			}(fmt.Sprintf("s%d", h), w)
		}
	}
	wg.Wait()
	if f := fail.Load(); f != nil {
		t.Fatal(f)
	}
	t.Logf("%d operations (%d under cancellation) in %s, %d workloads left running", ops.Load(), cancelled.Load(), time.Since(start).Round(time.Millisecond), len(running))
	// Running workloads get their endpoints, as the CNI plugin would have written them.
	seen := map[netip.Addr]string{}
	for h, ip := range running {
		if other, dup := seen[ip]; dup {
			t.Fatalf("%s held by %s and %s", ip, h, other)
		}
		seen[ip] = h
		mkWEP(t, c, h[4:6], h[4:], ip) // host name is the first two characters of the id
	}
	before, err := a.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.HandleMismatches) != 0 || len(before.Duplicates) != 0 || len(before.StaleAffinities) != 0 {
		t.Fatalf("inconsistent after the run: %+v", before)
	}
	clk.off.Store(int64(time.Hour))
	rep, err := a.GC(ctx, GCOptions{GracePeriod: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gc released %d addresses left by cancelled calls", len(rep.Released))
	after := checkClean(t, a)
	if after.Allocations != len(running) {
		t.Fatalf("%d allocations after gc, want the %d running workloads", after.Allocations, len(running))
	}
	for h, ip := range running {
		if held, err := a.IPsByHandle(ctx, h); err != nil || len(held) != 1 || held[0] != ip {
			t.Fatalf("%s lost %s: %v %v", h, ip, held, err)
		}
	}
}
