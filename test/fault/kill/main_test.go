// Package kill is issue #16's SIGKILL fault: the node agent killed with -9 (no graceful
// stop) while containers ping each other every 10 ms, while it programs 10,000 routes, and
// as a route reflector under its clients. The dataplane must keep forwarding and the
// restarted agent must converge without flushing or rewriting what it left in the kernel.
// Needs root; BRINDLE_E2E_BIN=path reuses a built binary. Namespaces start with "bfk-".
package kill

import (
	"context"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// testBin is the binary under test (cluster.Binary: one build per run, or BRINDLE_E2E_BIN).
var testBin cluster.Binary

func TestMain(m *testing.M) { os.Exit(testBin.RootMain(m, "test/fault/kill")) }

var subnetA = netip.MustParsePrefix("172.30.1.0/24")

// startCluster starts a bed of hosts on one subnet (routing without encapsulation) and the
// datastore; everything goes when the test ends.
func startCluster(t *testing.T, hosts ...string) *cluster.Cluster {
	t.Helper()
	testbed.RequireRoot(t)
	o := testbed.Options{Prefix: "bfk-", Subnets: []netip.Prefix{subnetA, netip.MustParsePrefix("172.30.2.0/24")}}
	for _, h := range hosts {
		o.Hosts = append(o.Hosts, testbed.HostOptions{Name: h})
	}
	c, err := cluster.Start(cluster.Options{Bed: o, Binary: testBin.Path(t), WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 60)
	return c
}

// applyPool applies the seed's IPPool without encapsulation.
func applyPool(t *testing.T, c *cluster.Cluster) { c.MustApplySeedPool(t, "Never", "Never") }

func startAgents(t *testing.T, c *cluster.Cluster, o cluster.AgentOptions, hosts ...string) {
	c.MustStartAgents(t, o, hosts...)
}

func addContainer(t *testing.T, c *cluster.Cluster, host, name string) *cluster.Container {
	return c.MustAddContainer(t, host, name)
}

// waitBGPRoute waits until host routes ct's block via ct's host with proto bird.
func waitBGPRoute(t *testing.T, c *cluster.Cluster, host string, ct *cluster.Container) {
	t.Helper()
	blk, err := cluster.BlockOf(c.Host(ct.Host), ct.IP)
	if err != nil {
		t.Fatal(err)
	}
	gw := c.Host(ct.Host).Addr.Addr()
	if _, err := c.WaitRoute(host, blk, 30*time.Second, "BGP route to "+blk.String(), func(r cluster.Route, ok bool) bool {
		return ok && r.Gw == gw && r.Proto == 12
	}); err != nil {
		t.Fatal(err)
	}
}

// kernelWatch records, in one host namespace, every route change (`ip monitor route`) and
// every change to the brindle nftables tables (`nft monitor`) while a fault runs.
type kernelWatch struct {
	routes, nft *cluster.Monitor
}

func watchKernel(t *testing.T, h *testbed.Host) *kernelWatch {
	t.Helper()
	r, err := cluster.StartMonitor(h.Netns, "ip", "-o", "monitor", "route")
	if err != nil {
		t.Fatal(err)
	}
	n, err := cluster.StartMonitor(h.Netns, "nft", "monitor")
	if err != nil {
		r.Stop()
		t.Fatal(err)
	}
	return &kernelWatch{routes: r, nft: n}
}

// brindleRoute matches a monitor line for a route brindle owns (proto bird or 80) or a
// workload route on a cali* device.
var brindleRoute = regexp.MustCompile(`proto (bird|80)\b|dev cali`)

// stop ends both monitors and returns the route lines about brindle's routes and the nft
// lines about brindle's tables.
func (w *kernelWatch) stop() (routes, nft []string) {
	for _, l := range w.routes.Stop() {
		if brindleRoute.MatchString(l) {
			routes = append(routes, l)
		}
	}
	for _, l := range w.nft.Stop() {
		if strings.Contains(l, "brindle") {
			nft = append(nft, l)
		}
	}
	return routes, nft
}

// nftRuleset is `nft list ruleset` in the host's namespace (brindle's tables and nothing else
// exist there).
func nftRuleset(t *testing.T, h *testbed.Host) string {
	t.Helper()
	out, err := testbedRun(h.Netns, "nft", "-s", "list", "ruleset")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testbedRun(n *testbed.Netns, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return n.Run(ctx, testbed.RunOptions{Path: path, Args: args})
}

// settled waits until the host's kernel state is at rest, so that a fault's monitors see
// only what the fault causes: a new veth's IPv6 link-local route appears once DAD is over
// (about 2 s after the link comes up), and superseded policy rules are collected 2 s after
// the policy's last change (dataplane/polsupersede.go). It returns the ruleset.
func settled(t *testing.T, h *testbed.Host) string {
	t.Helper()
	time.Sleep(3 * time.Second)
	var rs string
	if err := cluster.WaitFor(20*time.Second, h.HostName+"'s superseded policy rules to be collected", func() (bool, string) {
		rs = nftRuleset(t, h)
		return !strings.Contains(rs, "superseded-below"), rs
	}); err != nil {
		t.Fatal(err)
	}
	return rs
}
