// Package e2e runs brindle clusters on the namespace test bed: the built binary as the
// datastore, the node agents, the CNI plugin and the CLI, with real traffic between
// containers. Needs root. BRINDLE_E2E_BIN=path reuses a built binary instead of building one.
package e2e

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// testBin is the binary under test (cluster.Binary: one build per run, or BRINDLE_E2E_BIN).
var testBin cluster.Binary

func brindleBin(t *testing.T) string { return testBin.Path(t) }

func TestMain(m *testing.M) {
	if op := os.Getenv(goCNIEnv); op != "" {
		os.Exit(goCNIDriver(op)) // containerd_test.go: this binary as go-cni's caller
	}
	code := m.Run()
	testBin.Remove()
	os.Exit(code)
}

var (
	subnetA = netip.MustParsePrefix("172.30.1.0/24")
	subnetB = netip.MustParsePrefix("172.30.2.0/24")
)

// twoSubnets: node1 and node2 share subnet A, node3 sits behind the router on subnet B.
func twoSubnets() testbed.Options {
	return testbed.Options{Prefix: "be2e-", Subnets: []netip.Prefix{subnetA, subnetB},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}, {Name: "node3", Subnet: 1}}}
}

// oneSubnet: three nodes on subnet A (routing without encapsulation needs layer-2
// neighbours), plus outsiders: "ext" behind the router (natOutgoing target) and "bird" on
// subnet A (the external BGP router).
func oneSubnet() testbed.Options {
	return testbed.Options{Prefix: "be2e-", Subnets: []netip.Prefix{subnetA, subnetB},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}, {Name: "node3"},
			{Name: "bird"}, {Name: "ext", Subnet: 1}}}
}

// startCluster starts the bed and the datastore for a test; on failure the tail of every
// process log is printed.
func startCluster(t *testing.T, bed testbed.Options) *cluster.Cluster {
	t.Helper()
	testbed.RequireRoot(t)
	bin := brindleBin(t)
	c, err := cluster.Start(cluster.Options{Bed: bed, Binary: bin, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 60)
	return c
}

// applyPool applies the seed's IPPool with the given encapsulation modes.
func applyPool(t *testing.T, c *cluster.Cluster, ipip, vxlan string) {
	c.MustApplySeedPool(t, ipip, vxlan)
}

// startAgents starts the agents on the named hosts (in parallel: each waits for its own
// first sync).
func startAgents(t *testing.T, c *cluster.Cluster, o cluster.AgentOptions, hosts ...string) {
	c.MustStartAgents(t, o, hosts...)
}

// addContainer adds a container through the CNI plugin.
func addContainer(t *testing.T, c *cluster.Cluster, host, name string) *cluster.Container {
	return c.MustAddContainer(t, host, name)
}

func hostIP(c *cluster.Cluster, host string) netip.Addr { return c.Host(host).Addr.Addr() }

// waitRoute waits until the host's route to dst satisfies want and returns it.
func waitRoute(t *testing.T, c *cluster.Cluster, host string, dst netip.Prefix, what string, want func(cluster.Route, bool) bool) cluster.Route {
	t.Helper()
	got, err := c.WaitRoute(host, dst, 15*time.Second, what, want)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func blockOf(t *testing.T, c *cluster.Cluster, ct *cluster.Container) netip.Prefix {
	t.Helper()
	b, err := cluster.BlockOf(c.Host(ct.Host), ct.IP)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func matrix(t *testing.T, cts []*cluster.Container) {
	t.Helper()
	if err := cluster.WaitMatrix(cts, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if failed := cluster.PingMatrix(cts, 2); len(failed) > 0 {
		t.Errorf("ping matrix:\n%s", strings.Join(failed, "\n"))
	}
}
