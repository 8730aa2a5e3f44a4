package e2e

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

func twoHosts() testbed.Options {
	return testbed.Options{Prefix: "bdk-", Subnets: []netip.Prefix{subnetA},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}}
}

// TestDockerTwoHosts: Debian's Docker on two hosts, brindle's Docker plugin on each, one
// network of the same name on both; containers reach each other over BGP-announced routes.
func TestDockerTwoHosts(t *testing.T) {
	requireDocker(t)
	c := startCluster(t, twoHosts())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1", "node2")
	d1 := startDockerHost(t, c, "node1")
	d2 := startDockerHost(t, c, "node2")
	for _, d := range []*dockerHost{d1, d2} {
		d.importBusybox(t)
		d.mustDocker(t, "network", "create", "-d", d.driver, "--ipam-driver", d.driver, "bnet")
	}
	a := d1.runContainer(t, "ca", "bnet", "--label", "org.projectcalico.label.role=web")
	b := d2.runContainer(t, "cb", "bnet")
	a2 := d1.runContainer(t, "ca2", "bnet")
	cts := []*cluster.Container{a, b, a2}
	t.Logf("containers: %v", cts)
	matrix(t, cts)

	out, err := c.Ctl(nil, "get", "workloadendpoints", "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range cts {
		if !strings.Contains(out, ct.IP.String()) {
			t.Errorf("brindle get workloadendpoints does not show %s:\n%s", ct, out)
		}
	}
	t.Log(out)
}
