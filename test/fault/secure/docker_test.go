package secure

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// dockerPlugin runs `brindle docker-plugin` on node1 with its own certificate and no Docker
// daemon (--docker-host ""), and asks it over its socket, as Docker would, for an address:
// IPAM in etcd through its own TLS connection. It also checks the socket's mode.
func dockerPlugin(t *testing.T, c *cluster.Cluster, f testbed.CertFiles) {
	t.Helper()
	sockDir := filepath.Join(t.TempDir(), "plugins")
	p, err := c.StartProc(c.Host("node1").Netns, testbed.ProcOptions{Name: "docker-plugin-node1", Path: c.Bin, LogDir: c.LogDir(),
		Args: []string{"docker-plugin", "--name", "bsec", "--socket-dir", sockDir, "--docker-host", "",
			"--node-name", "node1", "--state-dir", c.StateDir("node1")},
		Env: append([]string{"ETCD_ENDPOINTS=" + c.Endpoints}, env(f)...)})
	if err != nil {
		t.Fatal(err)
	}
	c.Track(p)
	sock := filepath.Join(sockDir, "bsec.sock")
	if err := cluster.WaitFor(20*time.Second, "the Docker plugin's socket", func() (bool, string) {
		_, err := os.Stat(sock)
		return err == nil && p.Running(), p.Logs()
	}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("Docker plugin socket %s: %v, mode %v; want 0600", sock, err, fi.Mode().Perm())
	}
	hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	call := func(method string, req any) map[string]any {
		b, _ := json.Marshal(req)
		resp, err := hc.Post("http://plugin/"+method, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if e, _ := out["Err"].(string); e != "" || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", method, resp.StatusCode, out)
		}
		return out
	}
	pool := call("IpamDriver.RequestPool", map[string]any{"AddressSpace": "BrindleLocal"})
	addr := call("IpamDriver.RequestAddress", map[string]any{"PoolID": pool["PoolID"]})
	a, err := netip.ParsePrefix(addr["Address"].(string))
	if err != nil || !netip.MustParsePrefix("10.244.0.0/16").Contains(a.Addr()) {
		t.Errorf("Docker plugin assigned %v (%v); want an address of the pool", addr["Address"], err)
	}
	t.Logf("Docker plugin (its own certificate) assigned %s", a)
	call("IpamDriver.ReleaseAddress", map[string]any{"PoolID": pool["PoolID"], "Address": a.Addr().String()})
}
