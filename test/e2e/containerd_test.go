package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocni "github.com/containerd/go-cni"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// containerd attaches container networks through its CNI library, go-cni (the CRI plugin
// and nerdctl both use it). The driver below is this test binary run again inside a host's
// network namespace (go-cni runs the plugins from goroutines, so only a whole process in the
// namespace puts every plugin call there), calling go-cni as nerdctl does: container ID
// "<namespace>-<id>", IgnoreUnknown=1 and NERDCTL_CNI_DHCP_HOSTNAME in CNI_ARGS, and a
// Remove before every Setup.

const goCNIEnv = "BRINDLE_E2E_GOCNI" // "add" or "del": run as the driver

type goCNIReq struct {
	PluginDir, ConfList, ID, Netns string
}

// goCNIDriver is the driver process: the request in $BRINDLE_E2E_GOCNI_REQ, the container's
// IPv4 address on stdout.
func goCNIDriver(op string) int {
	var r goCNIReq
	if err := json.Unmarshal([]byte(os.Getenv(goCNIEnv+"_REQ")), &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := gocni.New(gocni.WithPluginDir([]string{r.PluginDir}), gocni.WithInterfacePrefix("eth"))
	if err == nil {
		err = l.Load(gocni.WithConfListFile(r.ConfList))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := []gocni.NamespaceOpts{gocni.WithArgs("IgnoreUnknown", "1"), gocni.WithArgs("NERDCTL_CNI_DHCP_HOSTNAME", "ctr")}
	// nerdctl removes whatever an earlier attempt left before every setup.
	if err := l.Remove(ctx, r.ID, r.Netns, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "remove:", err)
		return 1
	}
	if op == "del" {
		return 0
	}
	res, err := l.Setup(ctx, r.ID, r.Netns, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	for _, c := range res.Interfaces {
		for _, ip := range c.IPConfigs {
			if ip.IP.To4() != nil {
				fmt.Println(ip.IP)
				return 0
			}
		}
	}
	fmt.Fprintln(os.Stderr, "setup: no IPv4 address in the result")
	return 1
}

// goCNI runs the driver in host's namespace.
func goCNI(t *testing.T, c *cluster.Cluster, host, op string, r goCNIReq) string {
	t.Helper()
	b, _ := json.Marshal(r)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.Host(host).Run(ctx, testbed.RunOptions{Path: os.Args[0],
		Env: []string{goCNIEnv + "=" + op, goCNIEnv + "_REQ=" + string(b)}})
	if err != nil {
		t.Fatalf("go-cni %s on %s: %v\n%s", op, host, err, out)
	}
	// Run combines stdout and stderr (the plugin's log lines): the answer is the last line.
	out = strings.TrimSpace(out)
	return out[strings.LastIndex(out, "\n")+1:]
}

// TestContainerdGoCNI: containers attached through go-cni with brindle's conflist on two
// hosts reach each other; DEL before ADD and repeated DELs are harmless; nothing is left.
func TestContainerdGoCNI(t *testing.T) {
	c := startCluster(t, twoHosts())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1", "node2")
	var cts []*cluster.Container
	var reqs []goCNIReq
	hostOf := map[string]string{}
	for i, host := range []string{"node1", "node2", "node1"} {
		dir := t.TempDir()
		conflist := map[string]any{"cniVersion": "1.0.0", "name": "bctr", "plugins": []any{map[string]any{
			"type": "calico", "datastore_type": "etcdv3", "etcd_endpoints": c.Endpoints, "nodename": host,
			"state_dir": c.StateDir(host), "log_file_path": filepath.Join(c.LogDir(), "cni-gocni-"+host+".log"),
			"ipam": map[string]any{"type": "calico-ipam"},
		}}}
		b, _ := json.Marshal(conflist)
		path := filepath.Join(dir, "bctr.conflist")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ns, err := testbed.NewNetns(fmt.Sprintf("bdk-ctr%d-%s", i, testbed.RandSuffix()))
		if err != nil {
			t.Fatal(err)
		}
		r := goCNIReq{PluginDir: c.CNIDir, ConfList: path, ID: "default-" + randHex(32), Netns: "/var/run/netns/" + ns.Name}
		t.Cleanup(func() {
			b, _ := json.Marshal(r)
			_, _ = c.Host(host).Run(context.Background(), testbed.RunOptions{Path: os.Args[0], Env: []string{goCNIEnv + "=del", goCNIEnv + "_REQ=" + string(b)}})
			ns.Close()
		})
		ip, err := netip.ParseAddr(goCNI(t, c, host, "add", r))
		if err != nil {
			t.Fatal(err)
		}
		cts = append(cts, &cluster.Container{Name: r.ID[:16], Host: host, NS: ns, IP: ip})
		reqs = append(reqs, r)
		hostOf[r.ID] = host
	}
	t.Logf("containers: %v", cts)
	matrix(t, cts)
	// A second DEL-then-ADD of a running container (nerdctl on restart) attaches it afresh,
	// and it is reachable at the address the new ADD reports.
	ip, err := netip.ParseAddr(goCNI(t, c, "node1", "add", reqs[0]))
	if err != nil {
		t.Fatal(err)
	}
	cts[0].IP = ip
	matrix(t, cts)
	for _, r := range reqs {
		goCNI(t, c, hostOf[r.ID], "del", r)
		goCNI(t, c, hostOf[r.ID], "del", r) // a repeated DEL succeeds
	}
	if out, err := c.Ctl(nil, "ipam", "check"); err != nil {
		t.Errorf("ipam check: %v\n%s", err, out)
	}
	if out, _ := c.Ctl(nil, "get", "workloadendpoints"); strings.Contains(out, "-cni-") {
		t.Errorf("endpoints left behind:\n%s", out)
	}
}

func randHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
