package cli

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/node"
)

type fixedStatus bgpstatus.Status

func (s fixedStatus) Status() bgpstatus.Status { return bgpstatus.Status(s) }

// readTarball returns a .tar.gz's files by name (without the top directory).
func readTarball(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(h.Name, "/")
		out[rest] = string(b)
	}
}

// diags writes a readable tarball holding the agent's status (from its real status socket
// and health endpoint), the kernel's state, this node's datastore records and versions.
func TestNodeDiagsTarball(t *testing.T) {
	_, st := datastore.StartTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, r := range []api.Resource{
		&api.Node{ObjectMeta: api.ObjectMeta{Name: "bdiag-n1"}},
		wep("bdiag-n1", "w1"), wep("bdiag-n2", "w2"),
	} {
		if _, err := st.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	stateDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(stateDir, "nodename"), []byte("bdiag-n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := bgpstatus.Listen(bgpstatus.SocketPath(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	src := fixedStatus{Peers: []bgpstatus.PeerStatus{{Address: netip.MustParseAddr("192.0.2.2"), Type: bgpstatus.PeerMesh, State: "up", Info: "Established"}}}
	go bgpstatus.Serve(ctx, ln, bgpstatus.Handler(src))
	h := node.NewHealth()
	h.Report("dataplane", true, true, "")
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go h.Serve(ctx, hl)

	out := filepath.Join(t.TempDir(), "d.tar.gz")
	msg, err := brindle(t, "--etcd-endpoints", st.Endpoints()[0], "node", "diags", "--state-dir", stateDir,
		"--health", hl.Addr().String(), "-o", out)
	if err != nil {
		t.Fatalf("diags: %v\n%s", err, msg)
	}
	t.Log(msg)
	files := readTarball(t, out)
	want := map[string]string{
		"versions.txt":           "brindle ",
		"agent/node-status.txt":  "| 192.0.2.2    | node-to-node mesh | up    |",
		"agent/readiness.txt":    `"ready":true`,
		"agent/state-nodename":   "bdiag-n1",
		"kernel/routes.txt":      "",
		"kernel/links.txt":       "lo:",
		"datastore/records.txt":  "/calico/resources/v3/projectcalico.org/nodes/bdiag-n1\n",
		"kernel/nft-brindle.txt": "",
		"kernel/neighbours.txt":  "",
		"kernel/addresses.txt":   "127.0.0.1",
	}
	for name, sub := range want {
		body, ok := files[name]
		if !ok {
			t.Errorf("%s missing from the tarball (have %d files)", name, len(files))
			continue
		}
		if !strings.Contains(body, sub) {
			t.Errorf("%s does not contain %q:\n%s", name, sub, body)
		}
	}
	rec := files["datastore/records.txt"]
	if !strings.Contains(rec, "bdiag-n1-w1") || strings.Contains(rec, "bdiag-n2-w2") {
		t.Errorf("datastore records hold this node's endpoints only:\n%s", rec)
	}
}

func wep(nodeName, name string) *api.WorkloadEndpoint {
	w := &api.WorkloadEndpoint{ObjectMeta: api.ObjectMeta{Name: nodeName + "-" + name, Namespace: "default"}}
	w.Spec.Node, w.Spec.Orchestrator, w.Spec.Workload, w.Spec.Endpoint = nodeName, "cni", name, "eth0"
	w.Spec.InterfaceName, w.Spec.IPNetworks = "cali"+name, []string{"10.66.0.1/32"}
	return w
}
