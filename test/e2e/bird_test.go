package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

const (
	birdAS     = 65000
	clusterAS  = 63400 // the seed's BGPConfiguration
	birdPrefix = "198.51.100.0/24"
)

// birdPeer starts BIRD 2 in the "bird" host, makes it a global BGPPeer, and checks both
// directions: BIRD learns every block, every node's kernel gets BIRD's prefix.
func birdPeer(t *testing.T, c *cluster.Cluster, cts []*cluster.Container) {
	h := c.Host("bird")
	addr := h.Addr.Addr()
	conf := fmt.Sprintf(birdEdgeConf, addr, "ipv4", birdPrefix, addr, birdAS, birdNeighbors(c, clusterAS, hostIP))
	bc, _ := startBird(t, c, h.Netns, "bird", conf, "bird-router", addr, birdAS)

	// Every node now has BIRD as a global peer next to its reflector sessions.
	rr := peersOf(c, "node1", "node specific", nodes...)
	rr[addr.String()] = "global"
	waitPeers(t, c, "node1", rr)
	for _, n := range []string{"node2", "node3"} {
		waitPeers(t, c, n, map[string]string{hostIP(c, "node1").String(): "node specific", addr.String(): "global"})
	}
	for _, ct := range cts {
		expectBirdLearns(t, bc, blockOf(t, c, ct), hostIP(c, ct.Host).String(), 30*time.Second)
	}
	if out, err := bc("show", "route"); err == nil {
		t.Logf("BIRD's routes:\n%s", out)
	}
	expectBirdPrefix(t, c, birdPrefix, addr)
}
