package ipam

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

// A shared allocator (the node agent's broker) combines its concurrent requests in memory:
// every request gets its own address under its own handle, in fewer writes than requests,
// while a second allocator (a plugin on its own) writes to the same blocks, and the small
// blocks fill so that requests move on to new ones while they race.
func TestSharedAllocatorCombinesInMemory(t *testing.T) {
	_, c := setup(t)
	mkPool(t, c, "v4", "10.24.0.0/24", 29, "")
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	qdir := t.TempDir()
	shared := New(c, Options{QueueDir: qdir, Shared: true})
	own := New(c, Options{QueueDir: qdir})
	const n, m = 60, 10
	before := revision(t, c)
	got := make([]netip.Prefix, n+m)
	var wg sync.WaitGroup
	for i := range n + m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := shared
			if i >= n {
				a = own
			}
			ips, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: fmt.Sprintf("m.%d", i), Hostname: "n1",
				Attrs: map[string]string{AttrNode: "n1", "who": fmt.Sprint(i)}})
			if err != nil || len(ips) != 1 {
				t.Errorf("request %d: %v %v", i, ips, err)
				return
			}
			got[i] = ips[0]
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	writes := revision(t, c) - before
	seen := map[netip.Addr]int{}
	for i, p := range got {
		if j, dup := seen[p.Addr()]; dup {
			t.Fatalf("requests %d and %d both got %s", j, i, p.Addr())
		}
		seen[p.Addr()] = i
		held, err := own.IPsByHandle(ctx, fmt.Sprintf("m.%d", i))
		if err != nil || len(held) != 1 || held[0] != p.Addr() {
			t.Fatalf("handle m.%d holds %v (%v), its request got %s", i, held, err, p.Addr())
		}
	}
	t.Logf("%d requests in %d writes (blocks claimed included)", n+m, writes)
	if writes >= n+m {
		t.Fatalf("%d writes for %d requests: nothing was combined", writes, n+m)
	}
	if len(shared.mem.m) != 0 {
		t.Fatalf("requests left posted in memory: %v", shared.mem.m)
	}
}
