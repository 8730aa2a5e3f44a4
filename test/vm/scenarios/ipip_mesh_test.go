package scenarios

import (
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestIPIPMesh is the seed's IPIP chapter on a stock kernel: pool ipipMode Always, the
// default full BGP mesh, three hosts on one subnet. Every container reaches every other;
// every host has tunl0 up with MTU 1480 (fabric 1500) and its tunnel address from its own
// block, a blackhole for that block and `<block> via <host> dev tunl0 onlink` for the others;
// on the wire the containers' packets travel inside IP protocol 4 between host addresses.
func TestIPIPMesh(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Always", "Never")
	startAgents(t, c, cluster.AgentOptions{}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	for _, h := range allNodes {
		checkTunl0(t, c, h, 1480)
		mtu, err := c.PodMTU(h)
		mustf(t, err, "pod MTU of %s", h)
		if mtu != 1480 {
			t.Errorf("%s: the agent wrote pod MTU %d, want 1480 (1500 - 20 for IPIP)", h, mtu)
		}
	}
	checkIPIPRoutes(t, c, cts)
	matrix(t, cts)
	expectWire(t, c, cts[0], cts[1], wireIPIP)
	expectWire(t, c, cts[2], cts[0], wireIPIP)
}
