package e2e

import (
	"archive/tar"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// dockerHost is a Docker daemon (Debian's docker.io) and brindle's Docker plugin in one
// host namespace of the bed. dockerd runs in the host's network namespace only (as under
// `nsenter --net`), without its bridge or iptables rules, with its own data and exec roots.
// Docker looks for plugins in the fixed /run/docker/plugins, shared by every daemon on the
// machine, so each host's plugin gets its own driver name (bdk<suffix><host>); the
// networks' brindle identity is their name, which both hosts share.
type dockerHost struct {
	c               *cluster.Cluster
	t               *testing.T // the test that owns the daemons (subtests end before it)
	host            string
	dir             string
	sock            string
	driver          string
	dockerd, plugin *testbed.Proc
}

func requireDocker(t *testing.T) {
	t.Helper()
	for _, b := range []string{"dockerd", "containerd", "runc"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed (Debian's docker.io; scripts/setup.sh installs it)", b)
		}
	}
	if _, err := os.Stat(dockerCLI); err != nil {
		t.Skipf("%s not installed (Debian's docker.io)", dockerCLI)
	}
}

// dockerCLI is Debian's client, which matches the daemon's API version.
const dockerCLI = "/usr/bin/docker"

var dockerSuffix = testbed.RandSuffix()

func startDockerHost(t *testing.T, c *cluster.Cluster, host string) *dockerHost {
	t.Helper()
	dir, err := os.MkdirTemp("", "bdk-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerHost{c: c, t: t, host: host, dir: dir, sock: filepath.Join(dir, "docker.sock"),
		driver: "bdk" + dockerSuffix + host}
	t.Cleanup(func() { os.RemoveAll(dir) })
	h := c.Host(host)
	d.dockerd, err = c.StartProc(h.Netns, testbed.ProcOptions{Name: "dockerd-" + host, Path: "dockerd", LogDir: c.LogDir(),
		Args: []string{"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
			"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
			"-H", "unix://" + d.sock, "--pidfile", filepath.Join(dir, "docker.pid")}})
	if err != nil {
		t.Fatal(err)
	}
	// Containers first (their shims outlive dockerd otherwise), then the daemon.
	t.Cleanup(func() {
		if out, err := d.docker("ps", "-aq"); err == nil && strings.TrimSpace(out) != "" {
			_, _ = d.docker(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
		}
		_ = d.dockerd.Stop(20 * time.Second)
	})
	if err := cluster.WaitFor(60*time.Second, "dockerd on "+host, func() (bool, string) {
		out, err := d.docker("info", "--format", "{{.ServerVersion}}")
		return err == nil, out
	}); err != nil {
		t.Fatalf("%v\n%s", err, tailLog(d.dockerd))
	}
	d.startPlugin(t)
	return d
}

func (d *dockerHost) startPlugin(t *testing.T) {
	t.Helper()
	var err error
	d.plugin, err = d.c.StartProc(d.c.Host(d.host).Netns, testbed.ProcOptions{Name: "docker-plugin-" + d.host, Path: d.c.Bin, LogDir: d.c.LogDir(),
		Args: []string{"--log-level", "debug", "docker-plugin", "--name", d.driver, "--node-name", d.host,
			"--state-dir", d.c.StateDir(d.host), "--docker-host", "unix://" + d.sock},
		Env: []string{"ETCD_ENDPOINTS=" + d.c.Endpoints}})
	if err != nil {
		t.Fatal(err)
	}
	p := d.plugin
	d.t.Cleanup(func() { _ = p.Stop(10 * time.Second) })
	sock := filepath.Join("/run/docker/plugins", d.driver+".sock")
	if err := cluster.WaitFor(20*time.Second, "plugin socket "+sock, func() (bool, string) {
		_, err := os.Stat(sock)
		return err == nil, fmt.Sprint(err)
	}); err != nil {
		t.Fatalf("%v\n%s", err, tailLog(d.plugin))
	}
}

func (d *dockerHost) docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, dockerCLI, append([]string{"-H", "unix://" + d.sock}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (d *dockerHost) mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := d.docker(args...)
	if err != nil {
		t.Fatalf("%s: %v\nplugin log:\n%s\ndockerd log:\n%s", d.host, err, tailLog(d.plugin), tailLog(d.dockerd))
	}
	return out
}

// importBusybox builds the image "bdkbox" from busybox-static: no registry is needed.
func (d *dockerHost) importBusybox(t *testing.T) {
	t.Helper()
	tarPath := filepath.Join(d.dir, "rootfs.tar")
	if err := busyboxTar(tarPath); err != nil {
		t.Skipf("busybox-static: %v", err)
	}
	d.mustDocker(t, "import", tarPath, "bdkbox")
}

func busyboxTar(path string) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, dir := range []string{"bin/", "tmp/", "proc/", "sys/", "dev/", "etc/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb))}); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	for _, app := range []string{"sh", "sleep", "ping", "ip", "nc", "cat"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + app, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	return tw.Close()
}

// runContainer starts a sleeping container on network and returns it as a cluster container
// (its network namespace opened through Docker's sandbox key, its address from eth0).
func (d *dockerHost) runContainer(t *testing.T, name, network string, extra ...string) *cluster.Container {
	t.Helper()
	args := append([]string{"run", "-d", "--name", name, "--network", network}, extra...)
	d.mustDocker(t, append(args, "bdkbox", "/bin/sleep", "3600")...)
	return d.container(t, name)
}

func (d *dockerHost) container(t *testing.T, name string) *cluster.Container {
	t.Helper()
	return openContainer(t, d.host, name, d.mustDocker(t, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", name))
}

// openContainer opens a runtime's container network namespace (its path in key) as a
// cluster container, with the IPv4 address of its eth0.
func openContainer(t *testing.T, host, name, key string) *cluster.Container {
	t.Helper()
	h, err := netns.GetFromPath(key)
	if err != nil {
		t.Fatalf("container %s netns %s: %v", name, key, err)
	}
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { nl.Close(); h.Close() })
	ct := &cluster.Container{Name: name, Host: host, NS: &testbed.Netns{Name: name, NS: h, NL: nl}}
	link, err := nl.LinkByName("eth0")
	if err != nil {
		t.Fatalf("container %s has no eth0: %v", name, err)
	}
	addrs, err := nl.AddrList(link, netlink.FAMILY_V4)
	if err != nil || len(addrs) == 0 {
		t.Fatalf("container %s eth0 has no IPv4 address (%v)", name, err)
	}
	ct.IP, _ = netip.AddrFromSlice(addrs[0].IP.To4())
	return ct
}

func tailLog(p *testbed.Proc) string {
	if p == nil {
		return ""
	}
	l := p.Logs()
	if len(l) > 4000 {
		l = l[len(l)-4000:]
	}
	return l
}
