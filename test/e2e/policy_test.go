package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestPolicySmoke: the agents enforce policy end to end. Containers of one CNI network
// reach each other through the profile the plugin creates; a deny-all
// GlobalNetworkPolicy stops the pings, an allow policy ordered before it restores them,
// a workload cannot reach its own host (defaultEndpointToHostAction Drop), and
// `brindle node endpoints` shows the policies in order with counters.
func TestPolicySmoke(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{NoBGP: true}, "node1", "node2")
	c1 := addContainer(t, c, "node1", "c1")
	c2 := addContainer(t, c, "node2", "c2")
	c3 := addContainer(t, c, "node1", "c3")
	cts := []*cluster.Container{c1, c2, c3}
	matrix(t, cts)

	if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec:
  order: 100
  selector: all()
  types: [Ingress, Egress]
`); err != nil {
		t.Fatal(err)
	}
	err := cluster.WaitFor(10*time.Second, "deny-all to stop every ping", func() (bool, string) {
		for _, a := range cts {
			for _, b := range cts {
				if a != b {
					if got, _ := testbed.Ping(a.NS, b.IP, 1, 300*time.Millisecond); got != 0 {
						return false, a.String() + " still reaches " + b.String()
					}
				}
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: allow-icmp}
spec:
  order: 10
  selector: all()
  ingress: [{action: Allow, protocol: ICMP}]
  egress: [{action: Allow, protocol: ICMP}]
`); err != nil {
		t.Fatal(err)
	}
	matrix(t, cts)
	if got, _ := testbed.Ping(c1.NS, hostIP(c, "node1"), 1, 500*time.Millisecond); got != 0 {
		t.Error("a workload reached its own host: defaultEndpointToHostAction Drop not enforced")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := c.Host("node1").Run(ctx, testbed.RunOptions{Path: c.Bin, Args: []string{"node", "endpoints"},
		Env: []string{"BRINDLE_STATE_DIR=" + c.StateDir("node1")}})
	if err != nil {
		t.Fatalf("node endpoints: %v\n%s", err, out)
	}
	for _, want := range []string{"interface cali", "allow-icmp", "deny-all", "rule 0 Allow", "Ingress (to the workload)"} {
		if !strings.Contains(out, want) {
			t.Errorf("node endpoints lacks %q:\n%s", want, out)
		}
	}
	i1, i2 := strings.Index(out, "allow-icmp"), strings.Index(out, "deny-all")
	if i1 < 0 || i2 < i1 {
		t.Errorf("allow-icmp (order 10) must be listed before deny-all (order 100):\n%s", out)
	}
	t.Logf("brindle node endpoints on node1:\n%s", out)
}
