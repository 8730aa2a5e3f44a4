package store_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// cache is what a consumer such as the node agent keeps: key -> revision it was told.
type cache map[string]int64

func (c cache) apply(b store.Batch) {
	for _, ev := range b.Events {
		switch ev.Type {
		case store.Updated:
			c[ev.Key] = ev.Revision
		case store.Deleted:
			delete(c, ev.Key)
		}
	}
}

func nextBatch(t *testing.T, ch <-chan store.Batch) store.Batch {
	t.Helper()
	select {
	case b, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return b
	case <-time.After(30 * time.Second):
		t.Fatal("no batch within 30s")
	}
	return store.Batch{}
}

// truth lists the prefixes straight from etcd, as the cache should look.
func truth(t *testing.T, c *store.Client, prefixes ...string) cache {
	t.Helper()
	out := cache{}
	for _, p := range prefixes {
		kvs, _, err := c.ListKV(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range kvs {
			out[kv.Key] = kv.ModRevision
		}
	}
	return out
}

func pool(name, cidr string) *api.IPPool {
	return &api.IPPool{ObjectMeta: api.ObjectMeta{Name: name}, Spec: api.IPPoolSpec{CIDR: cidr, BlockSize: 26}}
}

func mustCreate(t *testing.T, c *store.Client, r api.Resource) api.Resource {
	t.Helper()
	out, err := c.Create(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func poolKey(name string) string {
	k, _ := api.LookupKind("IPPool")
	return store.ResourceKey(k, "", name)
}

func poolPrefix() string {
	k, _ := api.LookupKind("IPPool")
	return store.ListPrefix(k, "")
}

func TestWatchSnapshotThenLiveEvents(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustCreate(t, c, pool("a", "10.1.0.0/24"))
	if _, err := c.PutKV(ctx, store.HandleKey("h1"), []byte(`{"block":{},"deleted":false}`)); err != nil {
		t.Fatal(err)
	}
	prefixes := []string{poolPrefix(), store.IPAMPrefix, store.IPAMPrefix + "handle/"} // the last is inside the second
	ch := c.Watch(ctx, store.WatchOptions{Prefixes: prefixes})
	got := cache{}
	first := nextBatch(t, ch)
	if !first.InSync || !first.FromList || len(first.Events) != 2 {
		t.Fatalf("first batch: want an in-sync list of 2 events, got %+v", first)
	}
	got.apply(first)
	for _, ev := range first.Events {
		if ev.Key == poolKey("a") {
			p, ok := ev.Resource.(*api.IPPool)
			if !ok || p.Spec.CIDR != "10.1.0.0/24" || ev.Name != "a" || ev.Kind.Kind != "IPPool" {
				t.Fatalf("pool event not decoded: %+v", ev)
			}
		} else if ev.Kind != nil || string(ev.Value) != `{"block":{},"deleted":false}` {
			t.Fatalf("IPAM handle should be a raw KV event: %+v", ev)
		}
	}

	mustCreate(t, c, pool("b", "10.2.0.0/24"))
	if _, err := c.Delete(ctx, "IPPool", "", "a", ""); err != nil {
		t.Fatal(err)
	}
	var deleted *store.Event
	for len(got) != 2 || got[poolKey("a")] != 0 {
		b := nextBatch(t, ch)
		if b.FromList {
			t.Fatalf("unexpected re-list: %+v", b)
		}
		got.apply(b)
		for i := range b.Events {
			if b.Events[i].Type == store.Deleted {
				deleted = &b.Events[i]
			}
		}
	}
	if deleted == nil || deleted.Key != poolKey("a") || deleted.Resource == nil || deleted.Resource.GetObjectMeta().Name != "a" {
		t.Fatalf("live delete should carry the previous value: %+v", deleted)
	}
	if want := truth(t, c, prefixes...); !reflect.DeepEqual(got, want) {
		t.Fatalf("cache %v, datastore %v", got, want)
	}
}

// The watcher is cut off (its connection goes through a proxy we pause), the datastore
// changes and is compacted past the watcher's revision; on reconnect the watcher must
// re-list and send exactly the difference.
func TestWatchResyncAfterCompaction(t *testing.T) {
	s, c := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i, n := range []string{"a", "b", "w"} {
		mustCreate(t, c, pool(n, fmt.Sprintf("10.%d.0.0/24", i+1)))
	}
	if _, err := c.PutKV(ctx, store.HandleKey("h1"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, s.ClientURLs()[0][len("http://"):])
	wc, err := store.Connect(ctx, store.Config{Endpoints: []string{"http://" + proxy.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	prefixes := []string{poolPrefix(), store.IPAMPrefix}
	ch := wc.Watch(ctx, store.WatchOptions{Prefixes: prefixes, RetryDelay: 100 * time.Millisecond})
	got := cache{}
	got.apply(nextBatch(t, ch))
	if len(got) != 4 {
		t.Fatalf("snapshot: want 4 keys, got %v", got)
	}

	proxy.Pause()
	mustCreate(t, c, pool("e", "10.5.0.0/24"))
	a, err := store.GetAs[*api.IPPool](ctx, c, "", "a")
	if err != nil {
		t.Fatal(err)
	}
	a.Spec.NATOutgoing = true
	if _, err := c.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, "IPPool", "", "b", ""); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, pool("x", "10.6.0.0/24")) // created and deleted while away: never seen
	if _, err := c.Delete(ctx, "IPPool", "", "x", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutKV(ctx, store.HandleKey("h2"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteKV(ctx, store.HandleKey("h1"), 0); err != nil {
		t.Fatal(err)
	}
	_, rev, err := c.ListKV(ctx, "/calico/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Etcd().Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	proxy.Resume()

	var resync store.Batch
	for !resync.FromList {
		b := nextBatch(t, ch)
		if !b.InSync && len(b.Events) != 0 {
			t.Fatalf("an out-of-sync marker must carry no events: %+v", b)
		}
		if len(b.Events) > 0 && !b.FromList {
			t.Fatalf("no live events expected while cut off: %+v", b)
		}
		resync = b
	}
	got.apply(resync)
	var summary []string
	for _, ev := range resync.Events {
		summary = append(summary, ev.Type.String()+" "+ev.Key)
	}
	sort.Strings(summary)
	want := []string{
		"deleted " + poolKey("b"),
		"deleted " + store.HandleKey("h1"),
		"updated " + poolKey("a"),
		"updated " + poolKey("e"),
		"updated " + store.HandleKey("h2"),
	}
	sort.Strings(want)
	if !reflect.DeepEqual(summary, want) {
		t.Fatalf("resync events:\n got %q\nwant %q", summary, want)
	}
	if !resync.InSync || resync.Revision < rev {
		t.Fatalf("resync batch must be in sync at >= %d: %+v", rev, resync)
	}
	if want := truth(t, c, prefixes...); !reflect.DeepEqual(got, want) {
		t.Fatalf("cache %v, datastore %v", got, want)
	}

	// And it keeps following live changes afterwards.
	mustCreate(t, c, pool("f", "10.7.0.0/24"))
	for got[poolKey("f")] == 0 {
		got.apply(nextBatch(t, ch))
	}
}

// An etcd restart on the same data dir and port: the watcher recovers by itself.
func TestWatchSurvivesEtcdRestart(t *testing.T) {
	s, c := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustCreate(t, c, pool("a", "10.1.0.0/24"))
	ch := c.Watch(ctx, store.WatchOptions{Prefixes: []string{poolPrefix()}, RetryDelay: 100 * time.Millisecond})
	got := cache{}
	got.apply(nextBatch(t, ch))

	s.Close()
	s2, err := datastore.Start(s.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Close)
	c2, err := store.Connect(ctx, store.Config{Endpoints: s2.ClientURLs()})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	mustCreate(t, c2, pool("b", "10.2.0.0/24"))
	if _, err := c2.Delete(ctx, "IPPool", "", "a", ""); err != nil {
		t.Fatal(err)
	}
	// Compact too: whether the watcher resumes live or has to re-list, it must converge.
	_, rev, _ := c2.ListKV(ctx, "/calico/")
	if _, err := c2.Etcd().Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	want := truth(t, c2, poolPrefix())
	for !reflect.DeepEqual(got, want) {
		got.apply(nextBatch(t, ch))
	}
	cancel()
	c.Close() // before s2 stops, so that its graceful shutdown has no stream to wait for
}

func TestWatchClosesWithContext(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := c.Watch(ctx, store.WatchOptions{})
	nextBatch(t, ch)
	cancel()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(10 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
}

// Policies arrive under their API names, IPAMConfiguration as a resource, blocks as raw KVs.
func TestWatchDecodesSpecialKeys(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.EnsureInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c, &api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "allow-dns"}, Spec: api.GlobalNetworkPolicySpec{Ingress: []api.Rule{{Action: "Allow"}}}})
	if _, err := c.PutKV(ctx, store.BlockKey("10.244.0.0/26"), []byte(`{"cidr":"10.244.0.0/26"}`)); err != nil {
		t.Fatal(err)
	}
	// An undecodable stored value is reported once, as a deletion, and then ignored.
	if _, err := c.PutKV(ctx, store.ResourcePrefix+"ippools/broken", []byte(`{"spec":`)); err != nil {
		t.Fatal(err)
	}
	ch := c.Watch(ctx, store.WatchOptions{})
	first := nextBatch(t, ch)
	byKey := map[string]store.Event{}
	for _, ev := range first.Events {
		byKey[ev.Key] = ev
	}
	gnpKind, _ := api.LookupKind("GlobalNetworkPolicy")
	if ev := byKey[store.ResourceKey(gnpKind, "", "default.allow-dns")]; ev.Name != "allow-dns" || ev.Resource.GetObjectMeta().Name != "allow-dns" {
		t.Errorf("policy event: %+v", ev)
	}
	if ev := byKey[store.IPAMConfigKey]; ev.Kind == nil || ev.Kind.Kind != "IPAMConfiguration" {
		t.Errorf("IPAM config event: %+v", ev)
	} else if cfg := ev.Resource.(*api.IPAMConfiguration); cfg.Spec.AutoAllocateBlocks == nil || !*cfg.Spec.AutoAllocateBlocks {
		t.Errorf("IPAM config decoded as %+v", cfg.Spec)
	}
	if ev := byKey[store.BlockKey("10.244.0.0/26")]; ev.Kind != nil || ev.Resource != nil || len(ev.Value) == 0 {
		t.Errorf("block event: %+v", ev)
	}
	profKind, _ := api.LookupKind("Profile")
	if ev := byKey[store.ResourceKey(profKind, "", store.DefaultAllowProfile)]; ev.Resource == nil {
		t.Errorf("snapshot lacks the synthesised default-allow profile")
	}
	if _, ok := byKey[store.ResourcePrefix+"ippools/broken"]; ok {
		t.Errorf("an undecodable value the consumer never saw must not be sent")
	}
	// A good pool turned bad is withdrawn with the decode error attached.
	mustCreate(t, c, pool("turns-bad", "10.3.0.0/24"))
	if _, err := c.PutKV(ctx, poolKey("turns-bad"), []byte(`not json`)); err != nil {
		t.Fatal(err)
	}
	for {
		b := nextBatch(t, ch)
		var done bool
		for _, ev := range b.Events {
			if ev.Key == poolKey("turns-bad") && ev.Type == store.Deleted {
				if ev.Err == nil {
					t.Errorf("deletion for a bad value should carry the decode error")
				}
				done = true
			}
		}
		if done {
			break
		}
	}
}
