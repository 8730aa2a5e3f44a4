package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// Concurrent allocators of one host fill its first block and then claim exactly one more
// (the claim turn and the affinity guard keep them from claiming one each), with no address
// given out twice. Run with every queue mode: the result must not depend on it.
func TestConcurrentFillClaimsOneMoreBlock(t *testing.T) {
	for _, q := range []string{QueueOff, QueueProcess, QueueOn} {
		t.Run("queue="+q, func(t *testing.T) {
			_, c := datastore.StartTest(t)
			mkPool(t, c, "p", "10.60.0.0/16", 26, "")
			mkNode(t, c, "h", "")
			dir := t.TempDir()
			allocs := []*Allocator{New(c, Options{Queue: q, QueueDir: dir}), New(c, Options{Queue: q, QueueDir: dir})}
			ctx := ctxT(t)
			const n = 100 // 64 fit in the first /26
			got := make([]netip.Prefix, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v4, _, err := allocs[i%2].AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: fmt.Sprintf("fill-%d", i), Hostname: "h"})
					if err != nil {
						errs <- err
						return
					}
					got[i] = v4[0]
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			seen := map[netip.Addr]int{}
			for i, p := range got {
				if j, dup := seen[p.Addr()]; dup {
					t.Fatalf("%s given to %d and %d", p.Addr(), j, i)
				}
				seen[p.Addr()] = i
			}
			affs, _, err := c.ListKV(ctx, store.AffinityPrefix("h", "ipv4"))
			if err != nil {
				t.Fatal(err)
			}
			if len(affs) != 2 {
				t.Fatalf("host has %d blocks, want 2", len(affs))
			}
			checkClean(t, allocs[0])
		})
	}
}

// A remembered block value that another process has since changed must cost a retry, never
// a lost allocation: A allocates (and remembers the block), B allocates in the same block,
// A allocates again from its stale memory.
func TestStaleBlockMemoryNeverDuplicates(t *testing.T) {
	_, c := datastore.StartTest(t)
	mkPool(t, c, "p", "10.61.0.0/16", 26, "")
	mkNode(t, c, "h", "")
	a := New(c, Options{Queue: QueueOff})
	b := New(c, Options{Queue: QueueOff})
	x := assign(t, a, "h", "x", 1)[0]
	y := assign(t, b, "h", "y", 1)[0]
	z := assign(t, a, "h", "z", 1)[0]
	if x == y || y == z || x == z {
		t.Fatalf("duplicate among %s %s %s", x, y, z)
	}
	// B releases y; A, remembering y as taken, still allocates correctly and the release
	// stands.
	if err := b.ReleaseByHandle(ctxT(t), "y"); err != nil {
		t.Fatal(err)
	}
	w := assign(t, a, "h", "w", 1)[0]
	if w == x || w == z {
		t.Fatalf("%s given twice", w)
	}
	if held, _ := a.IPsByHandle(ctxT(t), "y"); len(held) != 0 {
		t.Fatalf("released handle y still holds %v", held)
	}
	r := checkClean(t, a)
	if r.Allocations != 3 {
		t.Fatalf("%d allocations, want 3", r.Allocations)
	}
}

// Two queues on one directory (two processes) never hold the same key's turn at once, and
// a turn that cannot be had within QueueWait is skipped rather than waited for.
func TestQueueTurnsAcrossProcessesAndBound(t *testing.T) {
	dir := t.TempDir()
	log := New(nil, Options{Queue: QueueOff}).log
	q1 := newQueue(Options{Queue: QueueOn, QueueDir: dir, QueueWait: time.Minute}, log)
	q2 := newQueue(Options{Queue: QueueOn, QueueDir: dir, QueueWait: time.Minute}, log)
	ctx := ctxT(t)
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := q1
			if i%2 == 1 {
				q = q2
			}
			t := q.acquire(ctx, "block/10.0.0.0/26")
			if inside.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			t.done()
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d turns overlapped", n)
	}

	// A holder that never lets go: the other process proceeds after its bound.
	hold := q1.acquire(ctx, "block/10.0.0.64/26")
	defer hold.done()
	q3 := newQueue(Options{Queue: QueueOn, QueueDir: dir, QueueWait: 50 * time.Millisecond}, log)
	done := make(chan struct{})
	go func() {
		q3.acquire(ctx, "block/10.0.0.64/26").done()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("acquire waited past its bound for a turn that was never released")
	}
	// A cancelled context ends the wait too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	q4 := newQueue(Options{Queue: QueueOn, QueueDir: dir, QueueWait: time.Hour}, log)
	q4.acquire(cctx, "block/10.0.0.64/26").done()
}

// The hint in a block's lock file is only an expectation for the CAS: a forged one that
// carries the block's real revision but a different value (an empty block, which would
// forget x) must cost a failed transaction, never a write built on it.
func TestForgedHintNeverDecides(t *testing.T) {
	_, c := datastore.StartTest(t)
	mkPool(t, c, "p", "10.62.0.0/16", 26, "")
	mkNode(t, c, "h", "")
	dir := t.TempDir()
	a := New(c, Options{Queue: QueueOn, QueueDir: dir})
	x := assign(t, a, "h", "x", 1)[0]
	cidr := x.Masked()
	kv, err := c.GetKV(ctxT(t), store.BlockKey(cidr.String()))
	if err != nil {
		t.Fatal(err)
	}
	empty := mustJSON(newBlock(cidr, hostAffinity("h")))
	forged := fmt.Sprintf("%s\n%d\n%d\n%s", kv.Key, kv.ModRevision, len(empty), empty)
	if err := os.WriteFile(filepath.Join(dir, lockName("block/"+cidr.String())), []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	b := New(c, Options{Queue: QueueOn, QueueDir: dir})
	y := assign(t, b, "h", "y", 1)[0]
	if y == x {
		t.Fatalf("%s given twice after a forged hint", x)
	}
	if held, _ := b.IPsByHandle(ctxT(t), "x"); len(held) != 1 || held[0] != x.Addr() {
		t.Fatalf("x lost its address after a forged hint: %v", held)
	}
	checkClean(t, b)
}

// A claim hint from elsewhere (another etcd, a revision far ahead) costs at most one pass:
// the host still gets its first block.
func TestForeignClaimHintDoesNotStopClaims(t *testing.T) {
	_, c := datastore.StartTest(t)
	mkPool(t, c, "p", "10.63.0.0/16", 26, "")
	mkNode(t, c, "h", "")
	dir := t.TempDir()
	prefix := store.AffinityPrefix("h", "ipv4")
	foreign := fmt.Sprintf("%s\n%d\n%d\nclaimed", prefix, int64(1)<<40, len("claimed"))
	if err := os.WriteFile(filepath.Join(dir, lockName("claim/h/ipv4")), []byte(foreign), 0o600); err != nil {
		t.Fatal(err)
	}
	a := New(c, Options{Queue: QueueOn, QueueDir: dir})
	assign(t, a, "h", "x", 1)
	checkClean(t, a)
}
