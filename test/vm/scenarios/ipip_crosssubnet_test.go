package scenarios

import (
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestIPIPCrossSubnet: pool ipipMode CrossSubnet (the seed's edited pool) with node1 and node2
// on one subnet and node3 behind the router. Inside the subnet the containers' packets go
// plain, `<block> via <host> dev eth0`; across it they go inside IPIP, `<block> via <host>
// dev tunl0 onlink`.
func TestIPIPCrossSubnet(t *testing.T) {
	c := startCluster(t, twoSubnets())
	applyPool(t, c, "CrossSubnet", "Never")
	startAgents(t, c, cluster.AgentOptions{}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	c1, c2, c3 := cts[0], cts[1], cts[2]
	for _, h := range allNodes {
		checkTunl0(t, c, h, 1480)
	}
	expectCrossSubnetRoutes(t, c, c1, c2, c3)
	matrix(t, cts)
	expectWire(t, c, c1, c2, wirePlain)
	expectWire(t, c, c1, c3, wireIPIP)
	expectWire(t, c, c3, c2, wireIPIP)
	expectExplainIPIP(t, c, c1, c3)
}

// expectCrossSubnetRoutes wants plain routes between node1 and node2 (same subnet) and
// tunl0 routes between either of them and node3.
func expectCrossSubnetRoutes(t *testing.T, c *cluster.Cluster, c1, c2, c3 *cluster.Container) {
	t.Helper()
	for _, w := range []struct {
		host, what string
		dst        *cluster.Container
		want       func(cluster.Route, bool) bool
	}{
		{"node1", "plain route to node2's block", c2, viaUplink(hostIP(c, "node2"))},
		{"node2", "plain route to node1's block", c1, viaUplink(hostIP(c, "node1"))},
		{"node1", "IPIP route to node3's block", c3, viaTunl0(hostIP(c, "node3"))},
		{"node3", "IPIP route to node1's block", c1, viaTunl0(hostIP(c, "node1"))},
		{"node3", "IPIP route to node2's block", c2, viaTunl0(hostIP(c, "node2"))},
	} {
		r := waitRoute(t, c, w.host, blockOf(t, c, w.dst), w.what, w.want)
		t.Logf("%s: %s", w.host, r)
	}
}
