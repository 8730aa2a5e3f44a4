package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// podmanHost is Debian's podman 4.3 with its CNI backend in one host namespace of the bed:
// its own storage, run and tmp directories, a containers.conf selecting CNI with brindle as
// calico/calico-ipam, and the network's conflist, all under a private directory. Every
// podman command runs in the host's network namespace, because the CNI plugin puts the
// host side of the veth in the namespace it runs in.
type podmanHost struct {
	c       *cluster.Cluster
	host    string
	dir     string
	network string // the conflist's name
}

func startPodmanHost(t *testing.T, c *cluster.Cluster, host, podmanNet string) *podmanHost {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman not installed (Debian's podman; scripts/setup.sh installs it)")
	}
	dir, err := os.MkdirTemp("", "bpm-")
	if err != nil {
		t.Fatal(err)
	}
	p := &podmanHost{c: c, host: host, dir: dir, network: podmanNet}
	netd := filepath.Join(dir, "net.d")
	if err := os.MkdirAll(netd, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[network]
network_backend = "cni"
cni_plugin_dirs = [%q]
network_config_dir = %q
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
events_logger = "file"
tmp_dir = %q
`, c.CNIDir, netd, filepath.Join(dir, "tmp"))
	if err := os.WriteFile(filepath.Join(dir, "containers.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	conflist := map[string]any{"cniVersion": "0.4.0", "name": podmanNet, "plugins": []any{map[string]any{
		"type": "calico", "datastore_type": "etcdv3", "etcd_endpoints": c.Endpoints, "nodename": host,
		"state_dir": c.StateDir(host), "log_level": "info", "log_file_path": filepath.Join(c.LogDir(), "cni-podman-"+host+".log"),
		"ipam": map[string]any{"type": "calico-ipam"},
	}}}
	b, _ := json.Marshal(conflist)
	if err := os.WriteFile(filepath.Join(netd, podmanNet+".conflist"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = p.podman("rm", "-a", "-f", "-t", "0")
		_, _ = p.podman("system", "reset", "-f")
		os.RemoveAll(dir)
	})
	tarPath := filepath.Join(dir, "rootfs.tar")
	if err := cluster.BusyboxTar(tarPath); err != nil {
		t.Skipf("busybox-static: %v", err)
	}
	p.mustPodman(t, "import", tarPath, "bdkbox")
	return p
}

func (p *podmanHost) podman(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--root", filepath.Join(p.dir, "root"), "--runroot", filepath.Join(p.dir, "run"),
		"--storage-driver", "vfs"}, args...)
	out, err := p.c.Host(p.host).Run(ctx, testbed.RunOptions{Path: "podman", Args: full,
		Env: []string{"CONTAINERS_CONF=" + filepath.Join(p.dir, "containers.conf")}})
	return strings.TrimSpace(out), err
}

func (p *podmanHost) mustPodman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.podman(args...)
	if err != nil {
		t.Fatalf("%s: podman %s: %v\n%s", p.host, strings.Join(args, " "), err, out)
	}
	return out
}

// run starts a sleeping container on the brindle network (the sandbox's limits exceed
// nothing with these ulimits) and returns it; name "" lets podman pick one (with '_').
func (p *podmanHost) run(t *testing.T, name string) *cluster.Container {
	t.Helper()
	args := []string{"run", "-d", "--network", p.network, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}
	if name != "" {
		args = append(args, "--name", name)
	}
	id := p.mustPodman(t, append(args, "bdkbox", "/bin/sleep", "3600")...)
	if i := strings.LastIndex(id, "\n"); i >= 0 {
		id = id[i+1:]
	}
	key := p.mustPodman(t, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", id)
	name = p.mustPodman(t, "inspect", "-f", "{{.Name}}", id)
	return cluster.OpenContainer(t, p.host, name, key)
}

// TestPodmanTwoHosts: podman with its CNI backend on two hosts runs containers on brindle's
// conflist, named by podman (with '_'), which reach each other across hosts.
func TestPodmanTwoHosts(t *testing.T) {
	c := startCluster(t, twoHosts())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1", "node2")
	p1 := startPodmanHost(t, c, "node1", "bpod")
	p2 := startPodmanHost(t, c, "node2", "bpod")
	cts := []*cluster.Container{p1.run(t, "pa"), p2.run(t, ""), p1.run(t, "")}
	t.Logf("containers: %v", cts)
	matrix(t, cts)
	out, err := c.Ctl(nil, "get", "workloadendpoints", "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range cts {
		if !strings.Contains(out, ct.IP.String()+"/32") {
			t.Errorf("no endpoint for %s:\n%s", ct, out)
		}
	}
	p1.mustPodman(t, "rm", "-a", "-f", "-t", "0")
	p2.mustPodman(t, "rm", "-a", "-f", "-t", "0")
	if out, err := c.Ctl(nil, "ipam", "check"); err != nil {
		t.Errorf("ipam check after removal: %v\n%s", err, out)
	}
	if out, _ := c.Ctl(nil, "get", "workloadendpoints"); strings.Contains(out, "cni") {
		t.Errorf("endpoints left behind:\n%s", out)
	}
}

// TestRuntimesOneNetwork: Docker and podman on both hosts, with the Docker network and the
// CNI conflist both named bnet, are one network (one profile): the full matrix across hosts
// and runtimes.
func TestRuntimesOneNetwork(t *testing.T) {
	cluster.RequireDocker(t)
	c := startCluster(t, twoHosts())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1", "node2")
	var cts []*cluster.Container
	for _, h := range []string{"node1", "node2"} {
		d := cluster.StartDocker(t, c, h)
		d.ImportBusybox(t)
		d.MustDocker(t, "network", "create", "-d", d.Driver, "--ipam-driver", d.Driver, "bnet")
		p := startPodmanHost(t, c, h, "bnet")
		cts = append(cts, d.Run(t, "d"+h, "bnet"), p.run(t, "p"+h))
	}
	t.Logf("containers: %v", cts)
	matrix(t, cts)
}
