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

	t.Run("restart keeps enforcing", func(t *testing.T) { policyRestart(t, c, c1, c2, c3) })
	t.Run("table deleted by someone else comes back", func(t *testing.T) { policyTableBack(t, c) })
}

// policyRestart: with c1's packets denied at every destination, probes run continuously
// while node1's agent (hosting c1 and c3) restarts. The allowed pair c2 -> c3 must lose
// nothing, the denied pair c1 -> c3 must never get through: the table stays in force and
// the new agent converges without a moment of allow-all or deny-all.
func policyRestart(t *testing.T, c *cluster.Cluster, c1, c2, c3 *cluster.Container) {
	if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-from-c1}
spec:
  order: 5
  selector: all()
  ingress: [{action: Deny, source: {nets: ["` + c1.IP.String() + `/32"]}}]
`); err != nil {
		t.Fatal(err)
	}
	err := cluster.WaitFor(10*time.Second, "c1 denied", func() (bool, string) {
		got, _ := testbed.Ping(c1.NS, c3.IP, 1, 300*time.Millisecond)
		return got == 0, "c1 still reaches c3"
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := testbed.Ping(c2.NS, c3.IP, 2, time.Second); got != 2 {
		t.Fatalf("c2 -> c3 must be allowed before the restart (%d/2)", got)
	}
	stop := make(chan struct{})
	type result struct{ sent, ok int }
	probe := func(from, to *cluster.Container, out chan<- result) {
		var r result
		for {
			select {
			case <-stop:
				out <- r
				return
			default:
			}
			got, _ := testbed.Ping(from.NS, to.IP, 1, 200*time.Millisecond)
			r.sent++
			r.ok += got
			time.Sleep(20 * time.Millisecond)
		}
	}
	allowed, denied := make(chan result, 1), make(chan result, 1)
	go probe(c2, c3, allowed)
	go probe(c1, c3, denied)
	time.Sleep(300 * time.Millisecond)
	if _, err := c.RestartAgent("node1"); err != nil {
		close(stop)
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the new agent's first sync and a little more
	close(stop)
	a, d := <-allowed, <-denied
	t.Logf("during the restart: allowed pair %d/%d replies, denied pair %d/%d replies", a.ok, a.sent, d.ok, d.sent)
	if a.ok != a.sent || a.sent < 5 {
		t.Errorf("allowed pair c2 -> c3 lost %d of %d probes across the restart", a.sent-a.ok, a.sent)
	}
	if d.ok != 0 || d.sent < 5 {
		t.Errorf("denied pair c1 -> c3 got %d of %d probes through across the restart", d.ok, d.sent)
	}
}

// policyTableBack deletes brindle's table on node1 by hand; the agent notices (it looks
// twice a second) and writes it back. The time it took is logged, not asserted.
func policyTableBack(t *testing.T, c *cluster.Cluster) {
	h := c.Host("node1")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if out, err := h.Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"delete", "table", "ip", "brindle"}}); err != nil {
		t.Fatalf("nft delete table: %v %s", err, out)
	}
	start := time.Now()
	err := cluster.WaitFor(10*time.Second, "the table back", func() (bool, string) {
		out, err := h.Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"list", "chain", "ip", "brindle", "pol-forward"}})
		return err == nil && strings.Contains(out, "jump to-wl"), out
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("table back %v after it was deleted", time.Since(start).Round(10*time.Millisecond))
}
