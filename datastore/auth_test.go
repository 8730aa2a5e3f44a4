package datastore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestDataDirIsPrivate: a new member's data dir is owner-only (etcd creates it 0700), so
// the keys and values (IPAM, endpoints, policy) are not readable by other local users.
func TestDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")
	s, err := Start(Options{DataDir: dir, ClientURLs: []string{"http://" + FreeAddr(t)}, PeerURLs: []string{"http://" + FreeAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir %s: mode %#o, want 0700", dir, fi.Mode().Perm())
	}
}

// TestEnableAuthLimitsToCalicoPrefix: the user EnableAuth creates may use /calico/ and
// nothing else.
func TestEnableAuthLimitsToCalicoPrefix(t *testing.T) {
	s, admin := StartTest(t)
	ctx := context.Background()
	if err := EnableAuth(ctx, admin.Etcd(), "r00t", "brindle", "pw"); err != nil {
		t.Fatal(err)
	}
	c, err := store.Connect(ctx, store.Config{Endpoints: s.ClientURLs(), Username: "brindle", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Etcd().Put(ctx, "/calico/x", "1"); err != nil {
		t.Errorf("put under /calico/: %v", err)
	}
	// Felix's status report: a key under a lease (node/report.go).
	lease, err := c.Etcd().Grant(ctx, 60)
	if err != nil {
		t.Fatalf("lease grant as the brindle user: %v", err)
	}
	if _, err := c.Etcd().Put(ctx, "/calico/felix/v2/no-region/host/n/status", "{}", clientv3.WithLease(lease.ID)); err != nil {
		t.Errorf("put with a lease: %v", err)
	}
	if _, err := c.Etcd().Put(ctx, "/other/x", "1"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("put outside /calico/: %v, want permission denied", err)
	}
}
