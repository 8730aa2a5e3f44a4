package node

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Issue #10 item 5: with etcd unreachable the agent used to exit after 5 s. connect now
// waits (live, not ready, the reason in health, one warning) and registers the node as
// soon as etcd answers.
func TestConnectWaitsForTheDatastore(t *testing.T) {
	addr := "http://" + datastore.FreeAddr(t)
	st, err := store.Dial(store.Config{Endpoints: []string{addr}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	core, logs := observer.New(zapcore.DebugLevel)
	a := &Agent{opts: Options{StateDir: t.TempDir()}, log: zap.New(core), store: st,
		ipam: ipam.New(st, ipam.Options{}), health: NewHealth(), name: "n1",
		nodeIP: netip.MustParsePrefix("10.0.0.1/24"), tunnels: make(chan struct{}, 1)}
	a.health.Report("datastore", true, false, "connecting")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.connect(ctx) }()

	retries := func() int { return logs.FilterMessage("connecting to the datastore still failing; retrying").Len() }
	waitFor(t, "two retried attempts", func() bool { return retries() >= 2 })
	live, ready, parts := a.health.Status()
	if !live || ready {
		t.Errorf("while etcd is down: live %v ready %v, want live and not ready", live, ready)
	}
	if d := parts["datastore"].Detail; !strings.Contains(d, addr) || !strings.Contains(d, "refused") {
		t.Errorf("datastore health detail %q, want the endpoint and why it failed", d)
	}
	select {
	case err := <-done:
		t.Fatalf("connect returned (%v) while etcd was down", err)
	default:
	}

	srv, err := datastore.Start(datastore.Options{DataDir: t.TempDir(), ClientURLs: []string{addr},
		PeerURLs: []string{"http://" + datastore.FreeAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("connect did not return after etcd came up")
	}
	n, err := store.GetAs[*api.Node](ctx, st, "", "n1")
	if err != nil {
		t.Fatalf("node not registered: %v", err)
	}
	if n.Spec.BGP == nil || n.Spec.BGP.IPv4Address != "10.0.0.1/24" {
		t.Errorf("registered node's BGP spec %+v", n.Spec.BGP)
	}
	if w := logs.FilterMessage("connecting to the datastore failed; retrying").Len(); w != 1 {
		t.Errorf("%d warnings while etcd was down, want 1", w)
	}
	if logs.FilterMessage("connecting to the datastore recovered").Len() != 1 {
		t.Error("no recovery line")
	}
}
