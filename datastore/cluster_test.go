package datastore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// Three members in one process form a real cluster: a write on one is read on another, and
// with one member stopped the other two still serve reads and writes.
func TestThreeMemberCluster(t *testing.T) {
	names := []string{"m1", "m2", "m3"}
	opts := make([]datastore.Options, len(names))
	var initial []string
	for i, n := range names {
		opts[i] = datastore.Options{
			Name:       n,
			DataDir:    t.TempDir(),
			ClientURLs: []string{"http://" + datastore.FreeAddr(t)},
			PeerURLs:   []string{"http://" + datastore.FreeAddr(t)},
		}
		initial = append(initial, n+"="+opts[i].PeerURLs[0])
	}
	servers := make([]*datastore.Server, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i := range opts {
		opts[i].InitialCluster = strings.Join(initial, ",")
		opts[i].ClusterToken = "test-" + t.Name()
		wg.Add(1)
		go func() { // each Start waits for a quorum, so they must start together
			defer wg.Done()
			servers[i], errs[i] = datastore.Start(opts[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %s: %v", names[i], err)
		}
		t.Cleanup(servers[i].Close)
	}
	ctx := context.Background()
	connect := func(i int) *store.Client {
		c, err := store.Connect(ctx, store.Config{Endpoints: servers[i].ClientURLs(), DialTimeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("connecting to %s: %v", names[i], err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c1, c3 := connect(0), connect(2)
	if err := c1.EnsureInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	rev, err := c1.PutKV(ctx, "/calico/test/written-on-m1", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := c3.GetKV(ctx, "/calico/test/written-on-m1")
	if err != nil || string(kv.Value) != "x" || kv.ModRevision != rev {
		t.Fatalf("read on m3: %v %v", kv, err)
	}
	if _, err := c3.Get(ctx, "ClusterInformation", "", "default"); err != nil {
		t.Fatalf("initialised records visible on m3: %v", err)
	}

	servers[1].Close() // stop m2; m1 and m3 still have a quorum
	for i := 0; i < 10; i++ {
		key := fmt.Sprintf("/calico/test/after-stop-%d", i)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c3.PutKV(wctx, key, []byte("y"))
		cancel()
		if err != nil {
			t.Fatalf("write on m3 with m2 stopped: %v", err)
		}
		if kv, err := c1.GetKV(ctx, key); err != nil || string(kv.Value) != "y" {
			t.Fatalf("read on m1 with m2 stopped: %v %v", kv, err)
		}
	}
}
