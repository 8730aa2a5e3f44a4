package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// `brindle datastore run` as a real process of the built binary: it serves, initialises
// the datastore, and exits cleanly on SIGTERM.
func TestDatastoreRunSubprocess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "brindle")
	build := exec.Command("go", "build", "-o", bin, "github.com/brindle-net/brindle")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	client := "http://" + datastore.FreeAddr(t)
	dataDir := filepath.Join(dir, "etcd")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--log-level", "info", "datastore", "run", "--name", "solo", "--data-dir", dataDir,
		"--listen-client-urls", client, "--listen-peer-urls", "http://"+datastore.FreeAddr(t))
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // by PID, only if the test failed before stopping it
			<-exited
		}
	})

	ctx := context.Background()
	var c *store.Client
	deadline := time.Now().Add(60 * time.Second)
	for {
		var err error
		if c, err = store.Connect(ctx, store.Config{Endpoints: []string{client}, DialTimeout: time.Second}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("datastore never served: %v\n%s", err, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer c.Close()
	for {
		if _, err := c.Get(ctx, "ClusterInformation", "", "default"); err == nil {
			break
		} else if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("cluster information: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := c.Get(ctx, "Tier", "", "default"); err != nil {
		t.Errorf("default tier: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("still running 60s after SIGTERM\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "datastore initialised") {
		t.Errorf("log does not say the datastore was initialised:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "member")); err != nil {
		t.Errorf("data dir: %v", err)
	}
}

func TestDatastoreRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--initial-cluster-state", "bogus"}, "--initial-cluster-state"},
		{[]string{"--data-dir", ""}, "--data-dir"},
		{[]string{"--data-dir", t.TempDir(), "--listen-client-urls", "not a url"}, "client URL"},
	} {
		args := append([]string{"brindle", "datastore", "run"}, tc.args...)
		err := NewApp("brindle").Run(args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want an error naming %s, got %v", tc.args, tc.want, err)
		}
	}
}
