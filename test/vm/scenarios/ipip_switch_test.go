package scenarios

import (
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestIPIPSwitchToCrossSubnet follows the seed from its IPIP chapter to its BGP chapter: the
// pool goes from ipipMode Always to CrossSubnet with `brindle apply` while containers ping
// each other. Between node1 and node2 (one subnet) the route moves from tunl0 to eth0 and the
// packets go plain; node1 -> node3 (across the router) stays on tunl0. Neither ping may lose
// more than a few packets.
func TestIPIPSwitchToCrossSubnet(t *testing.T) {
	c := startCluster(t, twoSubnets())
	applyPool(t, c, "Always", "Never")
	startAgents(t, c, cluster.AgentOptions{}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	c1, c2, c3 := cts[0], cts[1], cts[2]
	waitRoute(t, c, "node1", blockOf(t, c, c2), "IPIP route to node2's block", viaTunl0(hostIP(c, "node2")))
	waitRoute(t, c, "node1", blockOf(t, c, c3), "IPIP route to node3's block", viaTunl0(hostIP(c, "node3")))
	matrix(t, cts)
	expectWire(t, c, c1, c2, wireIPIP)

	same, across := cluster.StartPinger(c1, c2), cluster.StartPinger(c1, c3)
	time.Sleep(time.Second)
	switchPool(t, c, "ipipMode", "CrossSubnet")
	t0 := time.Now()
	for _, w := range []struct{ host, peer string }{{"node1", "node2"}, {"node2", "node1"}} {
		ct := map[string]*cluster.Container{"node1": c1, "node2": c2}[w.peer]
		waitRoute(t, c, w.host, blockOf(t, c, ct), "plain route to "+w.peer+"'s block", viaUplink(hostIP(c, w.peer)))
	}
	t.Logf("routes between node1 and node2 moved to eth0 %.1fs after the apply", time.Since(t0).Seconds())
	time.Sleep(time.Second)
	for _, p := range []struct {
		name string
		p    *cluster.Pinger
	}{{"c1 -> c2 (same subnet)", same}, {"c1 -> c3 (across subnets)", across}} {
		sent, got := p.p.Stop()
		t.Logf("%s during the switch: %d/%d replies", p.name, got, sent)
		if sent < 5 || sent-got > 3 {
			t.Errorf("%s: %d of %d pings lost during the switch, want at most 3", p.name, sent-got, sent)
		}
	}
	waitRoute(t, c, "node1", blockOf(t, c, c3), "IPIP route to node3's block", viaTunl0(hostIP(c, "node3")))
	expectWire(t, c, c1, c2, wirePlain)
	expectWire(t, c, c1, c3, wireIPIP)
	matrix(t, cts)
}
