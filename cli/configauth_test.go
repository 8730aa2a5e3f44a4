package cli

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestConfigFileEtcdUsernamePassword: calicoctl.cfg's etcdUsername/etcdPassword reach a
// real etcd with authentication on; a wrong password fails naming the settings, and a
// config file holding a password that others can read draws a warning.
func TestConfigFileEtcdUsernamePassword(t *testing.T) {
	e := newCLIEnv(t)
	if err := datastore.EnableAuth(t.Context(), e.store.Etcd(), "r00t", "brindle", "pw1"); err != nil {
		t.Fatal(err)
	}
	spec := "  datastoreType: etcdv3\n  etcdEndpoints: " + e.endpoints + "\n  etcdUsername: brindle\n"
	good := writeConfig(t, spec+"  etcdPassword: pw1\n")
	if err := os.Chmod(good, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runApp(poolsYAML, "brindle", "--config", good, "apply", "-f", "-")
	if r.err != nil {
		t.Fatalf("apply with etcdUsername/etcdPassword: %v\n%s", r.err, r.errOut)
	}
	if !strings.Contains(r.errOut, "holds etcdPassword and is readable by group or others") {
		t.Errorf("no warning about a 0644 config file with a password: %q", r.errOut)
	}
	bad := writeConfig(t, spec+"  etcdPassword: wrong\n")
	r = runApp("", "brindle", "--config", bad, "get", "ippools")
	if r.err == nil || !strings.Contains(r.err.Error(), "user name or password refused") {
		t.Errorf("wrong password: %v", r.err)
	}
	if strings.Contains(r.errOut, "readable by group") {
		t.Errorf("a 0600 config file drew the warning: %q", r.errOut)
	}
}

// TestInitialiseGivesUpUnderAuth: `brindle datastore run` restarted after etcd's
// authentication was enabled does not retry its credential-less initialisation forever
// (a warning a second); it says why once and leaves it to the clients.
func TestInitialiseGivesUpUnderAuth(t *testing.T) {
	srv, admin := datastore.StartTest(t)
	if err := datastore.EnableAuth(t.Context(), admin.Etcd(), "r00t", "brindle", "pw1"); err != nil {
		t.Fatal(err)
	}
	ec := srv.Client()
	defer ec.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	core, logs := observer.New(zap.InfoLevel)
	initialise(ctx, store.NewFromEtcd(ec, nil), zap.New(core))
	if ctx.Err() != nil {
		t.Fatal("initialise still retrying after 20s")
	}
	if logs.FilterMessageSnippet("initialised by its clients").Len() != 1 {
		t.Errorf("logs: %v", logs.All())
	}
}
