package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestAgentStartsWithoutDatastore (issue #10 item 5): with etcd stopped, node2's agent is
// restarted. It must neither exit nor touch the kernel: pings between containers on node1
// and node2 keep flowing and its readiness stays false. Once etcd is back (same data, same
// address) it converges: ready, and a container added on node3 afterwards (in a new block,
// whose route node2 can only have from its own sync) answers from node2.
func TestAgentStartsWithoutDatastore(t *testing.T) {
	c := startCluster(t, testbed.Options{Prefix: "be2e-", Subnets: oneSubnet().Subnets,
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}, {Name: "node3"}}})
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, nodes...)
	c1, c2 := addContainer(t, c, "node1", "c1"), addContainer(t, c, "node2", "c2")
	matrix(t, []*cluster.Container{c1, c2})

	if err := c.StopDatastore(); err != nil {
		t.Fatal(err)
	}
	p := cluster.StartPinger(c1, c2)
	stopPinger := sync.OnceValues(p.Stop)
	defer stopPinger()
	time.Sleep(500 * time.Millisecond)
	opts := c.Agent("node2").Opts
	before := routeText(t, c, "node2")
	if err := c.StopAgent("node2"); err != nil {
		t.Fatal(err)
	}
	a, err := c.LaunchAgent("node2", opts)
	if err != nil {
		t.Fatal(err)
	}
	// The old agent exited 5 s after start ("did not answer within 5s"); watch it for
	// three times that.
	for i := 0; i < 15; i++ {
		time.Sleep(time.Second)
		if !a.Proc.Running() {
			t.Fatalf("agent exited while etcd was down (%v); log:\n%s", a.Proc.ExitErr(), lastLines(a.Proc.Logs(), 30))
		}
		if ready, err := a.Ready(); err != nil || ready {
			t.Fatalf("agent readiness while etcd is down: ready %v, err %v; want an answer of not ready", ready, err)
		}
	}
	if after := routeText(t, c, "node2"); after != before {
		t.Errorf("node2's routes changed while its agent waited for etcd:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	sent, got := p.Counts()
	t.Logf("%s -> %s during the outage and the agent's restart: %d/%d replies", c1, c2, got, sent)
	if sent < 10 || got != sent {
		t.Errorf("%s -> %s: %d/%d replies while etcd was down, want no loss", c1, c2, got, sent)
	}
	if !strings.Contains(a.Proc.Logs(), "connecting to the datastore failed; retrying") {
		t.Errorf("the agent's log does not say why it waits:\n%s", lastLines(a.Proc.Logs(), 30))
	}

	if err := c.StartDatastore(); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitReady(90 * time.Second); err != nil {
		t.Fatal(err)
	}
	c3 := addContainer(t, c, "node3", "c3")
	matrix(t, []*cluster.Container{c1, c2, c3})
	sent, got = stopPinger()
	t.Logf("%s -> %s across the whole outage: %d/%d replies", c1, c2, got, sent)
	if got != sent {
		t.Errorf("%s -> %s: %d/%d replies across the outage, want no loss", c1, c2, got, sent)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// routeText is the host's routing table as text, to compare.
func routeText(t *testing.T, c *cluster.Cluster, host string) string {
	t.Helper()
	rs, err := cluster.Routes(c.Host(host))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String() + "\n")
	}
	return b.String()
}
