package cluster

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

	"github.com/brindle-net/brindle/test/testbed"
)

// dockerHost is a Docker daemon (Debian's docker.io) and brindle's Docker plugin in one
// host namespace of the bed. dockerd runs in the host's network namespace only (as under
// `nsenter --net`), without its bridge or iptables rules, with its own data and exec roots.
// Docker looks for plugins in the fixed /run/docker/plugins, shared by every daemon on the
// machine, so each host's plugin gets its own driver name (bdk<suffix><host>); the
// networks' brindle identity is their name, which both hosts share.
type DockerHost struct {
	c               *Cluster
	t               testing.TB // the test that owns the daemons (subtests end before it)
	Host            string
	Dir             string
	Sock            string
	Driver          string // the plugin's driver name on this host (-d, --ipam-driver)
	Dockerd, Plugin *testbed.Proc
}

// RequireDocker skips the test when Debian's docker.io is not installed.
func RequireDocker(t testing.TB) {
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

// StartDocker starts dockerd and brindle's plugin on host; Cleanup removes every container,
// stops both by PID and removes their directories, also on failure.
func StartDocker(t testing.TB, c *Cluster, host string) *DockerHost {
	t.Helper()
	dir, err := os.MkdirTemp("", "bdk-")
	if err != nil {
		t.Fatal(err)
	}
	d := &DockerHost{c: c, t: t, Host: host, Dir: dir, Sock: filepath.Join(dir, "docker.sock"),
		Driver: "bdk" + dockerSuffix + host}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d.startDockerd(t)
	// Containers first (their shims outlive dockerd otherwise), then the daemon.
	t.Cleanup(func() {
		d.removeContainers()
		_ = d.Dockerd.Stop(20 * time.Second)
	})
	d.StartPlugin(t)
	return d
}

func (d *DockerHost) startDockerd(t testing.TB) {
	t.Helper()
	var err error
	d.Dockerd, err = d.c.StartProc(d.c.Host(d.Host).Netns, testbed.ProcOptions{Name: "dockerd-" + d.Host, Path: "dockerd", LogDir: d.c.LogDir(),
		Args: []string{"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
			"--data-root", filepath.Join(d.Dir, "data"), "--exec-root", filepath.Join(d.Dir, "exec"),
			"-H", "unix://" + d.Sock, "--pidfile", filepath.Join(d.Dir, "docker.pid")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitFor(60*time.Second, "dockerd on "+d.Host, func() (bool, string) {
		out, err := d.Docker("info", "--format", "{{.ServerVersion}}")
		return err == nil, out
	}); err != nil {
		t.Fatalf("%v\n%s", err, TailLog(d.Dockerd))
	}
}

// RestartDaemon stops dockerd as systemctl restart does (SIGTERM: it stops its containers,
// 10 s each for a PID 1 that ignores SIGTERM) and starts it again on the same roots.
func (d *DockerHost) RestartDaemon(t testing.TB) {
	t.Helper()
	if err := d.Dockerd.Stop(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	d.startDockerd(t)
}

func (d *DockerHost) StartPlugin(t testing.TB) {
	t.Helper()
	var err error
	d.Plugin, err = d.c.StartProc(d.c.Host(d.Host).Netns, testbed.ProcOptions{Name: "docker-plugin-" + d.Host, Path: d.c.Bin, LogDir: d.c.LogDir(),
		Args: []string{"--log-level", "debug", "docker-plugin", "--name", d.Driver, "--node-name", d.Host,
			"--state-dir", d.c.StateDir(d.Host), "--docker-host", "unix://" + d.Sock},
		Env: []string{"ETCD_ENDPOINTS=" + d.c.Endpoints}})
	if err != nil {
		t.Fatal(err)
	}
	p := d.Plugin
	// Containers go while the plugin still answers: Docker retries a missing plugin for a
	// minute per endpoint.
	d.t.Cleanup(func() {
		d.removeContainers()
		_ = p.Stop(10 * time.Second)
	})
	sock := filepath.Join("/run/docker/plugins", d.Driver+".sock")
	if err := WaitFor(20*time.Second, "plugin socket "+sock, func() (bool, string) {
		_, err := os.Stat(sock)
		return err == nil, fmt.Sprint(err)
	}); err != nil {
		t.Fatalf("%v\n%s", err, TailLog(d.Plugin))
	}
}

func (d *DockerHost) removeContainers() {
	if out, err := d.Docker("ps", "-aq"); err == nil && strings.TrimSpace(out) != "" {
		_, _ = d.Docker(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
	}
}

// Docker runs Debian's docker client against this host's daemon.
func (d *DockerHost) Docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, dockerCLI, append([]string{"-H", "unix://" + d.Sock}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (d *DockerHost) MustDocker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := d.Docker(args...)
	if err != nil {
		t.Fatalf("%s: %v\nplugin log:\n%s\ndockerd log:\n%s", d.Host, err, TailLog(d.Plugin), TailLog(d.Dockerd))
	}
	return out
}

// importBusybox builds the image "bdkbox" from busybox-static: no registry is needed.
func (d *DockerHost) ImportBusybox(t testing.TB) {
	t.Helper()
	tarPath := filepath.Join(d.Dir, "rootfs.tar")
	if err := BusyboxTar(tarPath); err != nil {
		t.Skipf("busybox-static: %v", err)
	}
	d.MustDocker(t, "import", tarPath, "bdkbox")
}

func BusyboxTar(path string) error {
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
func (d *DockerHost) Run(t testing.TB, name, network string, extra ...string) *Container {
	t.Helper()
	args := append([]string{"run", "-d", "--name", name, "--network", network}, extra...)
	d.MustDocker(t, append(args, "bdkbox", "/bin/sleep", "3600")...)
	return d.Container(t, name)
}

func (d *DockerHost) Container(t testing.TB, name string) *Container {
	t.Helper()
	return OpenContainer(t, d.Host, name, d.MustDocker(t, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", name))
}

// openContainer opens a runtime's container network namespace (its path in key) as a
// cluster container, with the IPv4 address of its eth0.
func OpenContainer(t testing.TB, host, name, key string) *Container {
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
	ct := &Container{Name: name, Host: host, NS: &testbed.Netns{Name: name, NS: h, NL: nl}}
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

func TailLog(p *testbed.Proc) string {
	if p == nil {
		return ""
	}
	l := p.Logs()
	if len(l) > 4000 {
		l = l[len(l)-4000:]
	}
	return l
}
