package ipam

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// revision is the datastore's current revision (one per committed write).
func revision(t *testing.T, c *store.Client) int64 {
	t.Helper()
	_, rev, err := c.ListKV(ctxT(t), "/nothing-here/")
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// Requests posted in a block's batch directory are all assigned by the next turn holder in
// one transaction, each with its own handle and attributes, and each poster finds its result.
func TestBatchCombinesPostedRequests(t *testing.T) {
	_, c := setup(t)
	mkPool(t, c, "v4", "10.23.0.0/24", 26, "")
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	qdir := t.TempDir()
	a := New(c, Options{QueueDir: qdir})
	first, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "b.0", Hostname: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	block := first[0].Masked()
	dir := a.q.batchDir(block)
	posted := map[string]string{} // handle -> request file base
	for i := 1; i <= 3; i++ {
		h := fmt.Sprintf("b.posted%d", i)
		base := filepath.Join(dir, reqName(h))
		req := batchReq{ID: fmt.Sprintf("id%d", i), Handle: h, Num: 1, Attrs: map[string]string{AttrNode: "n1", "who": h}}
		if err := writeAtomic(base+".req", req); err != nil {
			t.Fatal(err)
		}
		posted[h] = base
	}
	before := revision(t, c)
	got, _, err := New(c, Options{QueueDir: qdir}).AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "b.own", Hostname: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if after := revision(t, c); after != before+1 {
		t.Fatalf("%d writes for four requests, want one", after-before)
	}
	seen := map[netip.Addr]string{got[0].Addr(): "b.own"}
	for h, base := range posted {
		res, ok := readResult(base, "id"+h[len(h)-1:])
		if !ok || res.Fail || len(res.IPs) != 1 {
			t.Fatalf("result for %s: %+v %v", h, res, ok)
		}
		if other, dup := seen[res.IPs[0]]; dup {
			t.Fatalf("%s and %s both got %s", h, other, res.IPs[0])
		}
		seen[res.IPs[0]] = h
		held, err := a.IPsByHandle(ctx, h)
		if err != nil || len(held) != 1 || held[0] != res.IPs[0] {
			t.Fatalf("handle %s holds %v (%v), result says %v", h, held, err, res.IPs)
		}
		_, b, err := a.getBlock(ctx, block)
		if err != nil {
			t.Fatal(err)
		}
		ord, _ := addrOrdinal(b.prefix, res.IPs[0])
		if b.attrsOf(ord)["who"] != h {
			t.Fatalf("attributes of %s: %v", res.IPs[0], b.attrsOf(ord))
		}
	}
	// A result left for another attempt of a handle is never taken.
	stale := filepath.Join(dir, reqName("b.stale"))
	if err := writeAtomic(stale+".done", batchResult{ID: "old", IPs: []netip.Addr{got[0].Addr()}}); err != nil {
		t.Fatal(err)
	}
	st, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "b.stale", Hostname: "n1"})
	if err != nil || st[0].Addr() == got[0].Addr() {
		t.Fatalf("stale result taken: %v %v", st, err)
	}
	for _, h := range []string{"b.0", "b.own", "b.stale", "b.posted1", "b.posted2", "b.posted3"} {
		if err := a.ReleaseByHandle(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	checkClean(t, a)
}

// A request whose claimer died is settled from etcd while holding the turn: its addresses
// if the claimer's write committed (the handle exists), else nothing (write on your own).
func TestBatchOrphanSettled(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "v4", "10.24.0.0/24", 26, "")
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	got, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "o.committed", Hostname: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	block := got[0].Masked()
	for _, tc := range []struct {
		handle string
		want   []netip.Addr
	}{{"o.committed", []netip.Addr{got[0].Addr()}}, {"o.lost", nil}} {
		var served []netip.Addr
		op := blockOp{cidr: block, handle: tc.handle, hint: &handleHint{known: true},
			batch: &batchOp{req: batchReq{Handle: tc.handle, Num: 1}, served: func(ips []netip.Addr) { served = ips }}}
		name := filepath.Join(t.TempDir(), "req")
		os.WriteFile(name+".claimed", []byte("{}"), 0o600)
		done, _, err := a.settleOrphan(ctx, op, blockKeys{block: store.BlockKey(block.String()), handle: store.HandleKey(tc.handle)}, name)
		if err != nil || done != (tc.want != nil) || fmt.Sprint(served) != fmt.Sprint(tc.want) {
			t.Fatalf("%s: done %v served %v err %v, want %v", tc.handle, done, served, err, tc.want)
		}
		if _, err := os.Stat(name + ".claimed"); !os.IsNotExist(err) {
			t.Fatalf("%s: claimed file left", tc.handle)
		}
	}
}

// Many processes' requests at once on one block, combining as they come: every address
// distinct, every handle holding exactly the address its request returned.
func TestBatchUnderContention(t *testing.T) {
	_, c := setup(t)
	mkPool(t, c, "v4", "10.25.0.0/24", 26, "")
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	qdir := t.TempDir()
	const n = 40
	got := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			al := New(c, Options{QueueDir: qdir}) // a process of its own
			v4, _, err := al.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: fmt.Sprintf("k.%d", i), Hostname: "n1"})
			if err == nil {
				got[i] = v4[0].Addr()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	a := New(c, Options{})
	seen := map[netip.Addr]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if j, dup := seen[got[i]]; dup {
			t.Fatalf("duplicate address %s for requests %d and %d", got[i], j, i)
		}
		seen[got[i]] = i
		held, err := a.IPsByHandle(ctx, fmt.Sprintf("k.%d", i))
		if err != nil || len(held) != 1 || held[0] != got[i] {
			t.Fatalf("handle k.%d holds %v (%v), request returned %s", i, held, err, got[i])
		}
	}
	if left, _ := filepath.Glob(filepath.Join(qdir, "batch-*", "*")); len(left) > 0 {
		t.Fatalf("files left in the batch directory: %v", left)
	}
}
