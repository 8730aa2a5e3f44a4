package store_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// Two writers update the same version: exactly one wins, the other gets ErrConflict.
func TestTwoWritersOneWins(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	mustCreate(t, c, pool("p", "10.1.0.0/24"))
	for round := 0; round < 5; round++ {
		base, err := store.GetAs[*api.IPPool](ctx, c, "", "p")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			mine := *base
			mine.Spec.NATOutgoing = i == 0
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = c.Update(ctx, &mine)
			}()
		}
		wg.Wait()
		wins, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, store.ErrConflict):
				conflicts++
				var re *store.ResourceError
				if !errors.As(err, &re) || re.Kind != "IPPool" || re.Name != "p" {
					t.Errorf("conflict error should name the resource: %v", err)
				}
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if wins != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d wins, %d conflicts (%v)", round, wins, conflicts, errs)
		}
	}
}

func fieldPath(err error) string {
	var ve *api.ValidationError
	if errors.As(err, &ve) && len(ve.Errors) > 0 {
		return ve.Errors[0].Path
	}
	return ""
}

func TestErrorPaths(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	created := mustCreate(t, c, pool("p", "10.1.0.0/24")).(*api.IPPool)
	rv := created.ResourceVersion

	if _, err := c.Create(ctx, pool("p", "10.2.0.0/24")); !errors.Is(err, store.ErrAlreadyExists) || !strings.Contains(err.Error(), "IPPool(p)") {
		t.Errorf("create existing: %v", err)
	}
	withRV := pool("q", "10.3.0.0/24")
	withRV.ResourceVersion = "5"
	if _, err := c.Create(ctx, withRV); fieldPath(err) != "metadata.resourceVersion" {
		t.Errorf("create with resourceVersion: %v", err)
	}
	if _, err := c.Create(ctx, pool("", "10.3.0.0/24")); fieldPath(err) != "metadata.name" {
		t.Errorf("create without name: %v", err)
	}
	if _, err := c.Get(ctx, "IPPool", "", "missing"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("get missing: %v", err)
	}
	for _, bad := range []string{"Gadget", "nope"} {
		if _, err := c.Get(ctx, bad, "", "x"); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("get unknown kind: %v", err)
		}
		if _, _, err := c.List(ctx, bad, ""); err == nil {
			t.Errorf("list unknown kind succeeded")
		}
		if _, err := c.Delete(ctx, bad, "", "x", ""); err == nil {
			t.Errorf("delete unknown kind succeeded")
		}
	}
	noRV := pool("p", "10.1.0.0/24")
	if _, err := c.Update(ctx, noRV); fieldPath(err) != "metadata.resourceVersion" {
		t.Errorf("update without resourceVersion: %v", err)
	}
	noRV.ResourceVersion = "abc"
	if _, err := c.Update(ctx, noRV); fieldPath(err) != "metadata.resourceVersion" {
		t.Errorf("update with bad resourceVersion: %v", err)
	}
	ghost := pool("ghost", "10.4.0.0/24")
	ghost.ResourceVersion = rv
	if _, err := c.Update(ctx, ghost); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}

	// Delete: bad, stale, missing, then the right resourceVersion.
	if _, err := c.Delete(ctx, "IPPool", "", "p", "x1"); fieldPath(err) != "metadata.resourceVersion" {
		t.Errorf("delete with bad resourceVersion: %v", err)
	}
	stale, _ := strconv.ParseInt(rv, 10, 64)
	created.Spec.NATOutgoing = true
	updated, err := c.Update(ctx, created)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, "IPPool", "", "p", strconv.FormatInt(stale, 10)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("delete with stale resourceVersion: %v", err)
	}
	if _, err := c.Get(ctx, "IPPool", "", "p"); err != nil {
		t.Errorf("a failed delete must leave the resource: %v", err)
	}
	old, err := c.Delete(ctx, "IPPool", "", "p", updated.GetObjectMeta().ResourceVersion)
	if err != nil {
		t.Fatalf("delete with current resourceVersion: %v", err)
	}
	if p := old.(*api.IPPool); !p.Spec.NATOutgoing || p.ResourceVersion != updated.GetObjectMeta().ResourceVersion {
		t.Errorf("delete should return the object as it was: %+v", p)
	}
	if _, err := c.Delete(ctx, "IPPool", "", "p", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	mustCreate(t, c, pool("r", "10.5.0.0/24"))
	if _, err := c.Delete(ctx, "ippools", "", "r", ""); err != nil {
		t.Errorf("delete without resourceVersion, by plural: %v", err)
	}
}

// List returns the revision of the read: at least every item's resourceVersion, and a
// later write is above it.
func TestListRevision(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	for i, n := range []string{"a", "b", "c"} {
		mustCreate(t, c, pool(n, "10."+strconv.Itoa(i+1)+".0.0/24"))
	}
	items, rev, err := c.List(ctx, "IPPool", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("want 3 pools, got %d", len(items))
	}
	for _, r := range items {
		irv, _ := strconv.ParseInt(r.GetObjectMeta().ResourceVersion, 10, 64)
		if irv <= 0 || irv > rev {
			t.Errorf("item %s resourceVersion %d outside (0, %d]", r.GetObjectMeta().Name, irv, rev)
		}
	}
	d := mustCreate(t, c, pool("d", "10.9.0.0/24"))
	drv, _ := strconv.ParseInt(d.GetObjectMeta().ResourceVersion, 10, 64)
	if drv <= rev {
		t.Errorf("a write after the list has revision %d <= list revision %d", drv, rev)
	}
	_, rev2, _ := c.List(ctx, "IPPool", "")
	if rev2 < drv {
		t.Errorf("second list revision %d < %d", rev2, drv)
	}
	profiles, _, err := c.List(ctx, "Profile", "")
	if err != nil || len(profiles) != 1 || profiles[0].GetObjectMeta().Name != store.DefaultAllowProfile {
		t.Errorf("profiles list should hold only the synthesised default-allow: %v %v", profiles, err)
	}
}
