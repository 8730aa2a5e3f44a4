package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
)

// These tests drive the plugin's IPAM half over its real unix socket against a real etcd.
// (The network half needs a Docker daemon moving veths; test/e2e/docker_test.go runs it.)

func startPlugin(t *testing.T) (*store.Client, func(method string, req any) (map[string]any, int), context.CancelFunc) {
	t.Helper()
	_, sc := datastore.StartTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	docs, err := api.DecodeDocuments([]byte(`
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p1}
spec: {cidr: 10.60.0.0/16, blockSize: 26}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if _, err := sc.Create(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	p, err := New(Options{Name: "bdktest", SocketDir: t.TempDir(), Node: "n1", Store: sc})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Serve(sctx); close(done) }()
	crash := func() { stop(); <-done }
	t.Cleanup(crash)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", p.SocketPath())
	}}}
	call := func(method string, req any) (map[string]any, int) {
		t.Helper()
		b, _ := json.Marshal(req)
		resp, err := hc.Post("http://plugin/"+method, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: decoding answer: %v", method, err)
		}
		return out, resp.StatusCode
	}
	return sc, call, crash
}

func TestIPAMRequestRelease(t *testing.T) {
	sc, call, _ := startPlugin(t)
	if out, _ := call("Plugin.Activate", nil); !strings.Contains(jsonString(out), "IpamDriver") {
		t.Fatalf("Activate: %v", out)
	}
	pool, code := call("IpamDriver.RequestPool", map[string]any{"AddressSpace": "BrindleLocal"})
	if code != 200 || pool["PoolID"] != "brindle-v4" || pool["Pool"] != "0.0.0.0/0" {
		t.Fatalf("RequestPool: %d %v", code, pool)
	}
	if out, code := call("IpamDriver.RequestPool", map[string]any{"Pool": "10.99.0.0/24"}); code == 200 || !strings.Contains(jsonString(out), "--subnet 10.99.0.0/24: not inside any enabled IPPool") {
		t.Fatalf("subnet outside every pool must be refused naming --subnet: %d %v", code, out)
	}
	sub, code := call("IpamDriver.RequestPool", map[string]any{"Pool": "10.60.0.0/16"})
	if code != 200 || sub["PoolID"] != "brindle-v4:10.60.0.0/16" {
		t.Fatalf("RequestPool with subnet: %d %v", code, sub)
	}
	seen := map[string]bool{}
	for range 5 {
		a, code := call("IpamDriver.RequestAddress", map[string]any{"PoolID": "brindle-v4"})
		addr, _ := a["Address"].(string)
		if code != 200 || !strings.HasPrefix(addr, "10.60.") || !strings.HasSuffix(addr, "/32") || seen[addr] {
			t.Fatalf("RequestAddress: %d %v (seen %v)", code, a, seen)
		}
		seen[addr] = true
	}
	if out, code := call("IpamDriver.RequestAddress", map[string]any{"PoolID": "brindle-v4", "Address": "10.60.3.7"}); code != 200 || out["Address"] != "10.60.3.7/32" {
		t.Fatalf("RequestAddress with --ip: %d %v", code, out)
	}
	seen["10.60.3.7/32"] = true
	for addr := range seen {
		if out, code := call("IpamDriver.ReleaseAddress", map[string]any{"PoolID": "brindle-v4", "Address": strings.TrimSuffix(addr, "/32")}); code != 200 {
			t.Fatalf("ReleaseAddress %s: %v", addr, out)
		}
	}
	rep, err := ipam.New(sc, ipam.Options{}).Check(context.Background())
	if err != nil || rep.Allocations != 0 || rep.Problems() != 0 {
		t.Fatalf("after release: %+v %v", rep, err)
	}
}

// TestCrashedPluginLeakIsReclaimed: an address handed to Docker whose endpoint never came
// (the plugin died in between) is in flight for the grace period, then a leak gc frees.
func TestCrashedPluginLeakIsReclaimed(t *testing.T) {
	sc, call, crash := startPlugin(t)
	a, code := call("IpamDriver.RequestAddress", map[string]any{"PoolID": "brindle-v4"})
	if code != 200 {
		t.Fatalf("RequestAddress: %v", a)
	}
	crash()
	ctx := context.Background()
	rep, err := ipam.New(sc, ipam.Options{}).Check(ctx)
	if err != nil || len(rep.InFlight) != 1 || len(rep.Leaks) != 0 {
		t.Fatalf("fresh allocation must be in flight, not leaked: %+v %v", rep, err)
	}
	later := ipam.New(sc, ipam.Options{Now: func() time.Time { return time.Now().Add(ipam.DefaultGracePeriod + time.Minute) }})
	rep, err = later.Check(ctx)
	if err != nil || len(rep.Leaks) != 1 || !strings.HasPrefix(rep.Leaks[0].Handle, "docker.") {
		t.Fatalf("after the grace period: want one leak with a docker. handle: %+v %v", rep, err)
	}
	if _, err := later.GC(ctx, ipam.GCOptions{}); err != nil {
		t.Fatal(err)
	}
	if rep, err = later.Check(ctx); err != nil || rep.Allocations != 0 || rep.Problems() != 0 {
		t.Fatalf("after gc: %+v %v", rep, err)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }
