package datastore

import (
	"context"
	"net"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// StartTest starts a throwaway member on free loopback ports and returns a connected store
// client; both are closed when the test ends.
func StartTest(t testing.TB) (*Server, *store.Client) {
	t.Helper()
	s, err := Start(Options{
		DataDir:    t.TempDir(),
		ClientURLs: []string{"http://" + FreeAddr(t)},
		PeerURLs:   []string{"http://" + FreeAddr(t)},
	})
	if err != nil {
		t.Fatalf("embedded etcd: %v", err)
	}
	t.Cleanup(s.Close)
	c, err := store.Connect(context.Background(), store.Config{Endpoints: s.ClientURLs()})
	if err != nil {
		t.Fatalf("connecting to embedded etcd: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

// FreeAddr finds a free loopback TCP port ("127.0.0.1:N"). There is a small race between
// closing the probe listener and etcd binding it; tests tolerate it because the port space
// is large.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}
