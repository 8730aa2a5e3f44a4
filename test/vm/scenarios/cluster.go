package scenarios

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// The product scenarios run a whole brindle cluster with test/e2e/cluster (the datastore in
// the router namespace, `brindle node run` in every host namespace, containers added through
// the CNI plugin), the same harness the e2e scenarios use on this machine's kernel.

var (
	subnetA = netip.MustParsePrefix("172.30.1.0/24")
	subnetB = netip.MustParsePrefix("172.30.2.0/24")
)

// oneSubnet is three nodes on one layer-2 subnet.
func oneSubnet() testbed.Options {
	return testbed.Options{Prefix: nsPrefix, Subnets: []netip.Prefix{subnetA, subnetB},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}, {Name: "node3"}}}
}

// twoSubnets puts node1 and node2 on subnet A and node3 behind the router on subnet B.
func twoSubnets() testbed.Options {
	return testbed.Options{Prefix: nsPrefix, Subnets: []netip.Prefix{subnetA, subnetB},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}, {Name: "node3", Subnet: 1}}}
}

var allNodes = []string{"node1", "node2", "node3"}

// startCluster builds the bed and starts the datastore; everything is removed when the test
// ends, and every process log is printed if it failed.
func startCluster(t *testing.T, bed testbed.Options) *cluster.Cluster {
	t.Helper()
	RequireVM(t)
	t0 := time.Now()
	defer func() { t.Logf("bed and datastore up in %.1fs", time.Since(t0).Seconds()) }()
	t.Logf("guest memory: %s", memAvailable())
	c, err := cluster.Start(cluster.Options{Bed: bed, Binary: BrindleBin(t), WorkDir: t.TempDir()})
	if err != nil {
		// cluster.Start gives the datastore a fixed 30 s. Under TCG on a busy 2-core machine its
		// start (unpacking the embedded server build, then etcd's bootstrap) was once seen to
		// take longer; a second try tells that apart from a datastore that cannot start.
		t.Logf("starting the cluster failed, trying once more: %v", err)
		c, err = cluster.Start(cluster.Options{Bed: bed, Binary: BrindleBin(t), WorkDir: t.TempDir()})
	}
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 60)
	return c
}

// memAvailable is the guest's MemAvailable line, logged per scenario because etcd (its WAL
// preallocates 64 MB), the agents and every temp dir live in guest RAM.
func memAvailable() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return err.Error()
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemAvailable:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return "?"
}

// seedDir is test/fixtures/seed: the runner copies it into the share and names it in
// $BRINDLE_SEED_DIR; outside the VM the work tree's copy is used.
func seedDir() string {
	if d := os.Getenv("BRINDLE_SEED_DIR"); d != "" {
		return d
	}
	return "../../fixtures/seed"
}

// seed returns one seed manifest as text.
func seed(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(seedDir(), name))
	if err != nil {
		t.Fatalf("seed manifest: %v", err)
	}
	return string(b)
}

// applyPool applies the seed's IPPool with the given encapsulation modes.
func applyPool(t *testing.T, c *cluster.Cluster, ipip, vxlan string) {
	t.Helper()
	doc, err := cluster.SetField(seed(t, "default-ipv4-ippool.yaml"), "ipipMode", ipip)
	if err == nil {
		doc, err = cluster.SetField(doc, "vxlanMode", vxlan)
	}
	if err == nil {
		err = c.Apply(doc)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// switchPool changes one field of the pool the way the seed does: `get ippool -o yaml`,
// edit, `apply` (the fresh resourceVersion makes the apply a compare-and-swap that wins).
func switchPool(t *testing.T, c *cluster.Cluster, field, value string) {
	t.Helper()
	doc, err := c.Ctl(nil, "get", "ippool", "default-ipv4-ippool", "-o", "yaml")
	mustf(t, err, "get ippool")
	if doc, err = cluster.SetField(doc, field, value); err == nil {
		err = c.Apply(doc)
	}
	mustf(t, err, "switching the pool to %s %s", field, value)
}

// startAgents starts the agents on the named hosts in parallel (each waits for its own first
// sync, which under TCG takes a few seconds).
func startAgents(t *testing.T, c *cluster.Cluster, o cluster.AgentOptions, hosts ...string) {
	t.Helper()
	t0 := time.Now()
	defer func() { t.Logf("agents on %v ready in %.1fs", hosts, time.Since(t0).Seconds()) }()
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := c.StartAgent(h, o)
			if err != nil && a != nil && a.Proc != nil && a.Proc.Running() {
				// StartAgent waits 60 s for /readiness. Three agents starting at once on one
				// emulated CPU (each first unpacks the embedded server build) took longer on
				// a loaded machine; an agent still running gets more time, one that exited
				// does not.
				t.Logf("agent on %s not ready yet, waiting longer: %v", h, err)
				err = a.WaitReady(2 * time.Minute)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// addContainers adds one container per host, named c-<host>.
func addContainers(t *testing.T, c *cluster.Cluster, hosts ...string) []*cluster.Container {
	t.Helper()
	t0 := time.Now()
	defer func() { t.Logf("%d containers added in %.1fs", len(hosts), time.Since(t0).Seconds()) }()
	var out []*cluster.Container
	for _, h := range hosts {
		ct, err := c.AddContainer(h, "c-"+h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ct)
	}
	return out
}

func hostIP(c *cluster.Cluster, host string) netip.Addr { return c.Host(host).Addr.Addr() }

func blockOf(t *testing.T, c *cluster.Cluster, ct *cluster.Container) netip.Prefix {
	t.Helper()
	b, err := cluster.BlockOf(c.Host(ct.Host), ct.IP)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitRoute waits until the host's route to dst satisfies want and returns it.
func waitRoute(t *testing.T, c *cluster.Cluster, host string, dst netip.Prefix, what string, want func(cluster.Route, bool) bool) cluster.Route {
	t.Helper()
	got, err := c.WaitRoute(host, dst, 30*time.Second, what, want)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// matrix waits until every container reaches every other, then pings each pair twice.
func matrix(t *testing.T, cts []*cluster.Container) {
	t.Helper()
	if err := cluster.WaitMatrix(cts, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if failed := cluster.PingMatrix(cts, 2); len(failed) > 0 {
		t.Errorf("ping matrix:\n%s", strings.Join(failed, "\n"))
	}
}

// mustf fails the test with err's text, prefixed, when err is set.
func mustf(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}
