// Package cnitest runs brindle's CNI plugin as a container runtime does: cnitool or a direct
// exec with the CNI environment, against network namespaces and an embedded etcd.
package cnitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

const nodeName = "bcni-node1"

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// pluginDir builds the plugin once per test binary and lays out a CNI_PATH: brindle as
// `calico` and `calico-ipam`, plus Debian's standard plugins for chaining and delegation.
// BRINDLE_CNI_FULL=1 builds the whole brindle binary (`go build .`) instead of the minimal
// main that links only package cni.
func pluginDir(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "bcni-bin-")
		if buildErr != nil {
			return
		}
		pkg := "./test/cni/cnimain"
		if os.Getenv("BRINDLE_CNI_FULL") == "1" {
			pkg = "."
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "brindle"), pkg)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{string(out), err}
			return
		}
		for _, l := range []string{"calico", "calico-ipam"} {
			if buildErr = os.Symlink("brindle", filepath.Join(buildDir, l)); buildErr != nil {
				return
			}
		}
		for _, p := range []string{"portmap", "bandwidth", "host-local", "loopback"} {
			if buildErr = os.Symlink(filepath.Join("/usr/lib/cni", p), filepath.Join(buildDir, p)); buildErr != nil {
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("building the plugin: %v", buildErr)
	}
	return buildDir
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// netnsAdd creates a named network namespace, removed when the test ends.
func netnsAdd(t testing.TB, role string) string {
	t.Helper()
	name := "bcni-" + role + "-" + randHex(6)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	return name
}

// hostNetns is the namespace standing in for the host (see TestMain): loopback up, the
// workloads' gateway 169.254.1.1 and 192.0.2.2 on lo, no default route.
func hostNetns(t testing.TB) string {
	t.Helper()
	h := os.Getenv(hostNSEnv)
	if h == "" {
		t.Skip("needs root: the tests run inside a host namespace TestMain creates")
	}
	return h
}

func mustIP(t testing.TB, netns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", netns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v %s", netns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cluster is an embedded etcd seeded like a node agent would leave it: ready cluster
// information, one IPPool and this host's Node.
type cluster struct {
	endpoints string
	sc        *store.Client
	srv       *datastore.Server
	stateDir  string
}

func newCluster(t testing.TB, poolCIDR string, blockSize int) *cluster {
	t.Helper()
	srv, sc := datastore.StartTest(t)
	ctx := context.Background()
	create := func(kind string, doc string) {
		k, ok := api.LookupKind(kind)
		if !ok {
			t.Fatalf("kind %s not registered", kind)
		}
		r := k.NewResource()
		if err := json.Unmarshal([]byte(doc), r); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if _, err := sc.Create(ctx, r); err != nil {
			t.Fatalf("creating %s: %v", kind, err)
		}
	}
	create("ClusterInformation", `{"metadata":{"name":"default"},"spec":{"clusterGUID":"12f4fc3075d541368b3a6bcda3852060","datastoreReady":true}}`)
	create("IPPool", `{"metadata":{"name":"pool1"},"spec":{"cidr":"`+poolCIDR+`","blockSize":`+itoa(blockSize)+`,"ipipMode":"Never","vxlanMode":"Never","natOutgoing":true,"nodeSelector":"all()"}}`)
	create("Node", `{"metadata":{"name":"`+nodeName+`"},"spec":{"bgp":{"ipv4Address":"192.0.2.10/24"}},"status":{"podCIDRs":["10.99.0.0/24"]}}`)
	return &cluster{endpoints: strings.Join(srv.ClientURLs(), ","), sc: sc, srv: srv, stateDir: t.TempDir()}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// calicoConf is a calico plugin entry like Calico's calico-etcd manifest, for etcd.
func (c *cluster) calicoConf(extra map[string]any) map[string]any {
	m := map[string]any{
		"type":           "calico",
		"datastore_type": "etcdv3",
		"etcd_endpoints": c.endpoints,
		"nodename":       nodeName,
		"log_level":      "info",
		"mtu":            1480,
		"ipam":           map[string]any{"type": "calico-ipam"},
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// runResult is one plugin or cnitool execution.
type runResult struct {
	stdout, stderr string
	err            error
}

// runIn runs a program inside the host namespace with the given environment additions.
func (c *cluster) runIn(t testing.TB, hostNS string, stdin []byte, env []string, prog string, args ...string) runResult {
	t.Helper()
	_ = hostNS // the test binary already runs in the host namespace (TestMain)
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), "BRINDLE_STATE_DIR="+c.stateDir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	return runResult{so.String(), se.String(), err}
}

// pluginCall runs the plugin directly the way a runtime does.
type pluginCall struct {
	Command, ContainerID, Netns, IfName, Args string
	Conf                                      any
}

func (c *cluster) plugin(t testing.TB, hostNS, prog string, p pluginCall) runResult {
	t.Helper()
	conf, _ := json.Marshal(p.Conf)
	if s, ok := p.Conf.(string); ok {
		conf = []byte(s)
	}
	if p.IfName == "" {
		p.IfName = "eth0"
	}
	env := []string{
		"CNI_COMMAND=" + p.Command, "CNI_CONTAINERID=" + p.ContainerID, "CNI_NETNS=" + p.Netns,
		"CNI_IFNAME=" + p.IfName, "CNI_ARGS=" + p.Args, "CNI_PATH=" + pluginDir(t),
	}
	return c.runIn(t, hostNS, conf, env, filepath.Join(pluginDir(t), prog))
}
