package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/deploy"
	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// unitCapabilities returns brindle-node.service's CapabilityBoundingSet.
func unitCapabilities(t *testing.T) []string {
	t.Helper()
	b, err := deploy.Unit("brindle-node.service", "/usr/local/bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapabilityBoundingSet="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatal("brindle-node.service sets no CapabilityBoundingSet")
	return nil
}

// The agent does its whole job with only the capabilities brindle-node.service leaves it
// (and no new privileges): started under setpriv with that bounding set, it gets ready
// (routes, nftables, sysctls, BGP on port 179) and its containers reach the other host's.
func TestAgentWithUnitCapabilities(t *testing.T) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not installed")
	}
	caps := unitCapabilities(t)
	bounding := "-all"
	for _, c := range caps {
		bounding += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1")
	startAgents(t, c, cluster.AgentOptions{Wrap: []string{setpriv, "--bounding-set=" + bounding, "--inh-caps=-all", "--no-new-privs", "--"}}, "node2")

	status, err := os.ReadFile("/proc/" + strconv.Itoa(c.Agent("node2").Proc.PID) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var eff string
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			eff = strings.TrimSpace(v)
		}
	}
	// CAP_NET_BIND_SERVICE is 10, CAP_NET_ADMIN 12.
	if want := fmt.Sprintf("%016x", uint64(1)<<10|uint64(1)<<12); eff != want || len(caps) != 2 {
		t.Fatalf("agent CapEff %s, want %s (the unit's %v)", eff, want, caps)
	}
	waitPeers(t, c, "node2", peersOf(c, "node2", "node-to-node mesh", "node1", "node2"))
	c1 := addContainer(t, c, "node1", "k1")
	c2 := addContainer(t, c, "node2", "k2")
	matrix(t, []*cluster.Container{c1, c2})
}
