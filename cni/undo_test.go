package cni

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// startEtcdProcess runs an etcd member in a child process and returns its endpoint and PID.
// The child is stopped by PID when the test ends (after a SIGCONT, should it be stopped).
func startEtcdProcess(t *testing.T) (string, int) {
	t.Helper()
	client := "http://" + datastore.FreeAddr(t)
	peer := "http://" + datastore.FreeAddr(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), etcdChildEnv+"="+strings.Join([]string{t.TempDir(), client, peer}, ","))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGCONT)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return client, pid
}

// A failed ADD's undo must end even when etcd hangs (a stopped process keeps its TCP
// connections open and answers nothing): the runtime's call must not hang with it.
func TestUndoEndsWhenEtcdHangs(t *testing.T) {
	endpoint, pid := startEtcdProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, err := store.Connect(ctx, store.Config{Endpoints: []string{endpoint}, DialTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	pool := &api.IPPool{ObjectMeta: api.ObjectMeta{Name: "p"}, Spec: api.IPPoolSpec{CIDR: "10.98.0.0/24", BlockSize: 28, NodeSelector: "all()"}}
	if _, err := sc.Create(ctx, pool); err != nil {
		t.Fatal(err)
	}

	// What a failed ADD holds when it starts undoing: an address and an endpoint record.
	conf := &NetConf{Name: "bcni-net", IPAM: IPAMConf{Type: "calico-ipam"}}
	req := &ipamRequest{conf: conf, containerID: "hang1", ifName: "eth0", node: "bcni-n1", sc: sc, log: zap.NewNop()}
	got, err := ownIPAM{}.assign(ctx, req)
	if err != nil || len(got.ips) != 1 {
		t.Fatalf("assign: %v %v", got, err)
	}
	id := identify("bcni-n1", "hang1", "eth0", false, workloadArgs{})
	if _, err := writeWEP(ctx, sc, newWEP(id, "bcni-n1", "hang1", "eth0", "calihang1", "", prefixStrings(hostPrefixes(got.ips)), []string{"bcni-net"})); err != nil {
		t.Fatal(err)
	}

	core, logs := observer.New(zap.WarnLevel)
	u := &undoStack{log: zap.New(core), timeout: time.Second}
	u.push("release addresses", func(uctx context.Context) error { return ownIPAM{}.release(uctx, req) })
	u.push("delete endpoint", func(uctx context.Context) error { return deleteWEP(uctx, sc, id, "hang1") })

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { u.run(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("undo still running a minute after its 1 s deadline: a hung etcd hangs the runtime")
	}
	if n := logs.FilterMessage("undo step failed").Len(); n != 2 {
		t.Errorf("want both undo steps reported failed, got %d log entries: %v", n, logs.All())
	}

	// The address stays held (GC or the runtime's DEL releases it), and nothing broke.
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	held, err := ipam.New(sc, ipam.Options{}).IPsByHandle(ctx, req.handle())
	if err != nil || len(held) != 1 || held[0] != got.ips[0].Addr() {
		t.Errorf("after the hang: handle holds %v (%v), want %v", held, err, []netip.Addr{got.ips[0].Addr()})
	}
}
