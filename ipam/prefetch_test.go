package ipam

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// recordBuilder is an Also.Build that writes the addresses it was given under key.
func recordBuilder(key string, calls *int) func([]netip.Prefix) (string, []byte, error) {
	return func(ips []netip.Prefix) (string, []byte, error) {
		*calls++
		s := make([]string, len(ips))
		for i, p := range ips {
			s[i] = p.String()
		}
		return key, []byte(strings.Join(s, ",")), nil
	}
}

// The caller's record is created with the write that takes the request's last address, and
// carries every address of the request; an existing record is left alone without failing
// the assignment.
func TestPrefetchAndAlso(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "v4", "10.21.0.0/24", 26, "")
	mkPool(t, c, "v6", "fd00:21::/120", 122, "")
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	const extra = "/test/extra"
	if _, err := c.CreateKV(ctx, extra, []byte("x")); err != nil {
		t.Fatal(err)
	}

	p, err := a.Prefetch(ctx, "n1", "h.1", extra, "/test/absent")
	if err != nil {
		t.Fatal(err)
	}
	if p.HandleExists() || p.Extra(0) == nil || string(p.Extra(0).Value) != "x" || p.Extra(1) != nil {
		t.Fatalf("prefetch: handle %v, extra %v %v", p.HandleExists(), p.Extra(0), p.Extra(1))
	}
	calls := 0
	also := &Also{Build: recordBuilder("/test/rec/h.1", &calls)}
	v4, v6, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, Num6: 2, HandleID: "h.1", Hostname: "n1", Prefetched: p, Also: also})
	if err != nil || len(v4) != 1 || len(v6) != 2 {
		t.Fatalf("AutoAssign: %v %v %v", v4, v6, err)
	}
	rec, err := c.GetKV(ctx, "/test/rec/h.1")
	if err != nil || !also.Created {
		t.Fatalf("record not created (Created %v): %v", also.Created, err)
	}
	want := fmt.Sprintf("%s,%s,%s", v4[0], v6[0], v6[1])
	if string(rec.Value) != want {
		t.Fatalf("record %q, want %q", rec.Value, want)
	}

	// A record that exists already: the assignment succeeds, the record is unchanged.
	if _, err := c.CreateKV(ctx, "/test/rec/h.2", []byte("old")); err != nil {
		t.Fatal(err)
	}
	also2 := &Also{Build: recordBuilder("/test/rec/h.2", &calls)}
	if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "h.2", Hostname: "n1", Also: also2}); err != nil {
		t.Fatal(err)
	}
	if rec, _ := c.GetKV(ctx, "/test/rec/h.2"); also2.Created || string(rec.Value) != "old" {
		t.Fatalf("existing record: Created %v, value %q", also2.Created, rec.Value)
	}

	// A repeated request on a prefetched handle that holds addresses is seen as such.
	p, err = a.Prefetch(ctx, "n1", "h.1")
	if err != nil || !p.HandleExists() {
		t.Fatalf("prefetch of a used handle: %v %v", p.HandleExists(), err)
	}
	for _, h := range []string{"h.1", "h.2"} {
		if err := a.ReleaseByHandle(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	checkClean(t, a)
}

// Many prefetched requests with records at once on one block: every address distinct,
// every record created once with its own address (a stale prefetch only costs a retry).
func TestAlsoUnderContention(t *testing.T) {
	_, c := setup(t)
	mkPool(t, c, "v4", "10.22.0.0/24", 26, "")
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	const n = 30
	qdir := t.TempDir() // one host's queue, shared by its "processes"
	var wg sync.WaitGroup
	got := make([]netip.Prefix, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := fmt.Sprintf("c.%d", i)
			al := New(c, Options{QueueDir: qdir}) // a process of its own
			p, err := al.Prefetch(ctx, "n1", h)
			if err != nil {
				errs[i] = err
				return
			}
			calls := 0
			also := &Also{Build: recordBuilder("/test/rec/"+h, &calls)}
			v4, _, err := al.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: h, Hostname: "n1", Prefetched: p, Also: also})
			if err == nil && !also.Created {
				err = fmt.Errorf("record of %s not created", h)
			}
			if err == nil {
				got[i] = v4[0]
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	seen := map[netip.Prefix]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if j, dup := seen[got[i]]; dup {
			t.Fatalf("duplicate address %s for requests %d and %d", got[i], j, i)
		}
		seen[got[i]] = i
		rec, err := c.GetKV(ctx, fmt.Sprintf("/test/rec/c.%d", i))
		if err != nil || string(rec.Value) != got[i].String() {
			t.Fatalf("record of request %d: %v %v (address %s)", i, rec, err, got[i])
		}
	}
	kvs, _, err := c.ListKV(ctx, store.IPAMPrefix+"handle/")
	if err != nil || len(kvs) != n {
		t.Fatalf("%d handles, want %d: %v", len(kvs), n, err)
	}
}
