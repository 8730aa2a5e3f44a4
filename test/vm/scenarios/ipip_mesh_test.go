package scenarios

import (
	"strings"
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestIPIPMesh follows the seed's IPIP chapter and then its route-reflector chapter on a
// stock kernel, with one cluster (as the seed does): pool ipipMode Always, three hosts on one
// subnet, first with the default full BGP mesh, then with the seed's 01/02/03 manifests.
func TestIPIPMesh(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Always", "Never")
	startAgents(t, c, cluster.AgentOptions{}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	t.Run("full mesh", func(t *testing.T) { ipipFullMesh(t, c, cts) })
	t.Run("route reflector", func(t *testing.T) { ipipRouteReflector(t, c, cts) })
}

// ipipFullMesh: every container reaches every other; every host has tunl0 up with MTU 1480
// (fabric 1500) and its tunnel address from its own block, a blackhole for that block and
// `<block> via <host> dev tunl0 onlink` for the others; on the wire the containers' packets
// travel inside IP protocol 4 between host addresses.
func ipipFullMesh(t *testing.T, c *cluster.Cluster, cts []*cluster.Container) {
	for _, h := range allNodes {
		waitPeers(t, c, h, peersOf(c, h, "node-to-node mesh", allNodes...))
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
	expectExplainIPIP(t, c, cts[0], cts[1])
}

// ipipRouteReflector applies the seed's 01/02/03 manifests, changed only in the reflector
// node's name and addresses (node1 plays master01): node1 carries route-reflector=true and
// cluster ID 1.1.1.1, a BGPPeer makes every node peer with the reflectors, the mesh goes off
// and the AS becomes 63400. Node status then shows only `node specific` peers, the routes
// through tunl0 stay, and every container still reaches every other.
func ipipRouteReflector(t *testing.T, c *cluster.Cluster, cts []*cluster.Container) {
	rr := seed(t, "01-calico-reflector-master.yaml")
	rr = strings.ReplaceAll(rr, "master01", "node1")
	rr = strings.ReplaceAll(rr, "100.100.137.200/24", c.Host("node1").Addr.String())
	rr = strings.ReplaceAll(rr, "10.244.0.1", nodeTunnelAddr(t, c, "node1").String())
	for _, doc := range []string{rr, seed(t, "02-calico-reflector-bgppeer.yaml"), seed(t, "03-calico-reflector-defaultconfig.yaml")} {
		mustf(t, c.Apply(doc), "applying the seed's route-reflector manifests")
	}
	out := waitPeers(t, c, "node1", peersOf(c, "node1", "node specific", allNodes...))
	t.Logf("node status on the route reflector node1:\n%s", out)
	for _, h := range []string{"node2", "node3"} {
		out := waitPeers(t, c, h, map[string]string{hostIP(c, "node1").String(): "node specific"})
		if h == "node2" {
			t.Logf("node status on the client node2:\n%s", out)
		}
	}
	checkTunl0(t, c, "node1", 1480)
	checkIPIPRoutes(t, c, cts)
	matrix(t, cts)
	// node2 <-> node3 learn each other's blocks only through the reflector.
	expectWire(t, c, cts[1], cts[2], wireIPIP)
}
