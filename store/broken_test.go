package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// observed connects a client whose warnings the test can count.
func observed(t *testing.T, endpoints []string) (*store.Client, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.WarnLevel)
	c, err := store.Connect(context.Background(), store.Config{Endpoints: endpoints, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, logs
}

// warningsFor counts the broken-record warnings that name key.
func warningsFor(logs *observer.ObservedLogs, key string) int {
	n := 0
	for _, e := range logs.All() {
		if k, ok := e.ContextMap()["key"]; ok && k == key && strings.Contains(e.Message, "does not decode") {
			n++
		}
	}
	return n
}

// A garbage value under ippools/ (an etcdctl put) used to fail every List of pools, and with
// it every CNI ADD on every host (issue 10 item 3). It is skipped, named once in a warning.
func TestListSkipsBrokenRecordAndWarnsOnce(t *testing.T) {
	s, w := datastore.StartTest(t)
	ctx := context.Background()
	mustCreate(t, w, pool("good-a", "10.1.0.0/24"))
	mustCreate(t, w, pool("good-b", "10.2.0.0/24"))
	bad := poolKey("broken")
	if _, err := w.PutKV(ctx, bad, []byte(`{"kind":"IPPool","spec":{"cidr":`)); err != nil {
		t.Fatal(err)
	}
	c, logs := observed(t, s.ClientURLs())
	for range 3 {
		got, _, err := c.List(ctx, "IPPool", "")
		if err != nil {
			t.Fatalf("List failed as a whole on one broken record: %v", err)
		}
		if len(got) != 2 {
			t.Fatalf("List: want the 2 good pools, got %d", len(got))
		}
	}
	if n := warningsFor(logs, bad); n != 1 {
		t.Fatalf("want one warning naming %s, got %d: %v", bad, n, logs.All())
	}
	_, broken, _, err := c.ListWithBroken(ctx, "IPPool", "")
	if err != nil || len(broken) != 1 || broken[0].Key != bad || !strings.Contains(broken[0].Error(), bad) {
		t.Fatalf("ListWithBroken: %v %+v", err, broken)
	}
	// A new bad value at the same key is news: warned again.
	if _, err := w.PutKV(ctx, bad, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.List(ctx, "IPPool", ""); err != nil {
		t.Fatal(err)
	}
	if n := warningsFor(logs, bad); n != 2 {
		t.Fatalf("want a second warning after the value changed, got %d", n)
	}
	// Deleting is how a user cleans it up; that must not fail on the value it removes.
	if _, err := c.Delete(ctx, "IPPool", "", "broken", ""); err != nil {
		t.Fatalf("deleting the broken record: %v", err)
	}
	if _, err := w.GetKV(ctx, bad); err == nil {
		t.Fatal("broken record still there after delete")
	}
}

// The watch skips a broken value (a known key that turns bad reads as deleted), keeps
// delivering other updates, and a resync that meets the same value again stays quiet.
func TestWatchSkipsBrokenRecordAndWarnsOnce(t *testing.T) {
	s, w := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustCreate(t, w, pool("a", "10.1.0.0/24"))
	early := poolKey("early-broken")
	if _, err := w.PutKV(ctx, early, []byte("")); err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, s.ClientURLs()[0][len("http://"):])
	c, logs := observed(t, []string{"http://" + proxy.Addr()})
	ch := c.Watch(ctx, store.WatchOptions{Prefixes: []string{poolPrefix()}, RetryDelay: 100 * time.Millisecond})
	got := cache{}
	got.apply(nextBatch(t, ch))
	if _, ok := got[early]; ok || len(got) != 1 {
		t.Fatalf("snapshot: want only pool a, got %v", got)
	}

	// Pool a turns bad: the consumer is told it is gone. Pool b still arrives.
	if _, err := w.PutKV(ctx, poolKey("a"), []byte("{{")); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, w, pool("b", "10.2.0.0/24"))
	for got[poolKey("b")] == 0 {
		got.apply(nextBatch(t, ch))
	}
	if _, ok := got[poolKey("a")]; ok {
		t.Fatalf("a broken value must read as a deletion: %v", got)
	}

	// Force a re-list (compaction while cut off): the same broken values are not news.
	proxy.Pause()
	mustCreate(t, w, pool("c", "10.3.0.0/24"))
	mustCreate(t, w, pool("d", "10.4.0.0/24")) // the watch's next revision is compacted
	_, rev, err := w.ListKV(ctx, "/calico/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Etcd().Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	proxy.Resume()
	relisted := false
	for got[poolKey("c")] == 0 {
		b := nextBatch(t, ch)
		relisted = relisted || b.FromList
		got.apply(b)
	}
	if !relisted {
		t.Fatal("the watch did not re-list; the test proves nothing")
	}
	for _, key := range []string{early, poolKey("a")} {
		if n := warningsFor(logs, key); n != 1 {
			t.Errorf("%s: want one warning across list, live update and resync, got %d", key, n)
		}
	}
}
