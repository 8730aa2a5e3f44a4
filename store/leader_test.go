package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

func TestIsUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{fmt.Errorf("reading: %w", context.DeadlineExceeded), true},
		{rpctypes.ErrLeaderChanged, true},
		{rpctypes.ErrNoLeader, true},
		{rpctypes.ErrTimeout, true},
		{&store.KeyError{Key: "/calico/x", Err: rpctypes.ErrTimeoutDueToLeaderFail}, true},
		{status.Error(codes.Unavailable, "connection refused"), true},
		{rpctypes.ErrCompacted, false},
		{store.ErrConflict, false},
		{errors.New("stored value does not decode"), false},
	} {
		if got := store.IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// A member that lost its peers refuses a write instead of holding it until its request
// timeout (5 s plus two election timeouts): the client sends every KV request with etcd's
// require-leader flag, retries the refusal for its 3 s budget (an election would be over by
// then) and returns it. The refusal is an unavailability (CNI turns it into code 11).
func TestLeaderlessMemberRefuses(t *testing.T) {
	names := []string{"l1", "l2", "l3"}
	opts := make([]datastore.Options, len(names))
	var initial []string
	for i, n := range names {
		opts[i] = datastore.Options{Name: n, DataDir: t.TempDir(),
			ClientURLs: []string{"http://" + datastore.FreeAddr(t)}, PeerURLs: []string{"http://" + datastore.FreeAddr(t)}}
		initial = append(initial, n+"="+opts[i].PeerURLs[0])
	}
	servers := make([]*datastore.Server, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i := range opts {
		opts[i].InitialCluster = strings.Join(initial, ",")
		opts[i].ClusterToken = "test-" + t.Name()
		wg.Add(1)
		go func() { defer wg.Done(); servers[i], errs[i] = datastore.Start(opts[i]) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %s: %v", names[i], err)
		}
		t.Cleanup(servers[i].Close)
	}
	ctx := context.Background()
	c, err := store.Connect(ctx, store.Config{Endpoints: servers[2].ClientURLs(), DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.PutKV(ctx, "/calico/test/before", []byte("x")); err != nil {
		t.Fatal(err)
	}
	servers[0].Close()
	servers[1].Close()
	// Once its election timer has fired the last member knows it has no leader.
	time.Sleep(3 * time.Second)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.PutKV(wctx, "/calico/test/after", []byte("y"))
	took := time.Since(start)
	t.Logf("write to a member without a leader failed after %s: %v", took.Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "no leader") {
		t.Fatalf("write to a member without a leader: %v, want etcd's \"no leader\" refusal", err)
	}
	if !store.IsUnavailable(err) {
		t.Errorf("IsUnavailable(%v) = false, want true", err)
	}
}
