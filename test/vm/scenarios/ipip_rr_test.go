package scenarios

import (
	"strings"
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestIPIPRouteReflector is the seed's route-reflector chapter in IPIP mode: a running mesh
// cluster gets the seed's 01/02/03 manifests, changed only in the reflector node's name and
// addresses (node1 plays master01): node1 carries route-reflector=true and cluster ID
// 1.1.1.1, a BGPPeer makes every node peer with the reflectors, the mesh goes off and the AS
// becomes 63400. Node status then shows only `node specific` peers, the routes through tunl0
// stay, and every container still reaches every other.
func TestIPIPRouteReflector(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Always", "Never")
	startAgents(t, c, cluster.AgentOptions{}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	for _, h := range allNodes {
		waitPeers(t, c, h, peersOf(c, h, "node-to-node mesh", allNodes...))
	}
	checkIPIPRoutes(t, c, cts)

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
