package e2e

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestNoEncapDatastoreRoutes: no encapsulation, BGP off, so every remote block route comes
// from the datastore's block affinities. The steps share one cluster and run in order; the
// destructive ones (container and node removal) come last.
func TestNoEncapDatastoreRoutes(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{NoBGP: true}, "node1", "node2", "node3")
	c1 := addContainer(t, c, "node1", "c1")
	c2 := addContainer(t, c, "node2", "c2")
	c3 := addContainer(t, c, "node3", "c3")
	cx := addContainer(t, c, "node1", "cx") // removed by CNI DEL below
	cts := []*cluster.Container{c1, c2, c3, cx}

	t.Run("routes and matrix", func(t *testing.T) {
		for _, from := range []string{"node1", "node2", "node3"} {
			for _, ct := range cts {
				if ct.Host != from {
					expectPlainRoute(t, c, from, ct, 80)
				}
			}
		}
		matrix(t, cts)
		expectWire(t, c, c1, c2, wirePlain)
		if err := cluster.PMTU(c1, c3, podMTU(t, c, "node1", 1500)); err != nil {
			t.Error(err)
		}
	})
	t.Run("natOutgoing", func(t *testing.T) { natOutgoing(t, c, c1) })
	t.Run("route deleted by hand comes back", func(t *testing.T) { routeRepair(t, c, c2) })
	t.Run("agent restart without loss", func(t *testing.T) { agentRestart(t, c, c1, c2, nil, "node1", "node2") })
	t.Run("container removal", func(t *testing.T) { containerRemoval(t, c, cx, c3) })
	t.Run("node removal", func(t *testing.T) { nodeRemoval(t, c, c1, c2, "node3") })
}

// natOutgoing pings the outside host "ext", which has no route back to the pools: the reply
// can only come back if the node masqueraded the container's address to its own, and the
// capture on ext's port shows that it did.
func natOutgoing(t *testing.T, c *cluster.Cluster, from *cluster.Container) {
	ext := c.Host("ext")
	if r, ok, _ := cluster.RouteTo(ext, netip.MustParsePrefix("10.244.0.0/16")); ok {
		t.Fatalf("ext has a route back to the pool (%s): the test would prove nothing", r)
	}
	capt, err := c.Bed.Fabric.Capture(c.HostPort("ext"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := testbed.Ping(from.NS, ext.Addr.Addr(), 3, time.Second)
	pkts := capt.Stop()
	if err != nil || got != 3 {
		t.Fatalf("ping %s -> ext %s: %d/3 (err %v)", from, ext.Addr.Addr(), got, err)
	}
	nodeAddr := hostIP(c, from.Host)
	masq, leaked := 0, 0
	for _, p := range pkts {
		if p.Outer.Proto != 1 || p.Outer.Dst != ext.Addr.Addr() {
			continue
		}
		switch p.Outer.Src {
		case nodeAddr:
			masq++
		case from.IP:
			leaked++
		}
	}
	if masq < 3 || leaked > 0 {
		t.Errorf("at ext: %d requests from the node address %s, %d from the pod address %s; want all masqueraded",
			masq, nodeAddr, leaked, from.IP)
	}
}

// routeRepair deletes the route to a remote block by hand and waits for the agent to put it
// back. The issue asks for under a second; that figure is logged, not asserted (timed
// targets belong in benchmarks). The 5 s bound only tells the netlink watch, which must
// do the repair, from the periodic resync, which would take far longer.
func routeRepair(t *testing.T, c *cluster.Cluster, remote *cluster.Container) {
	h := c.Host("node1")
	block := blockOf(t, c, remote)
	_, dst, _ := net.ParseCIDR(block.String())
	start := time.Now()
	if err := h.NL.RouteDel(&netlink.Route{Dst: dst}); err != nil {
		t.Fatalf("deleting %s on node1: %v", block, err)
	}
	// RouteDel succeeding proves the route was there and is gone; the agent may put it back
	// within a millisecond, so there is nothing to look at in between.
	expectPlainRoute(t, c, "node1", remote, 80)
	took := time.Since(start)
	t.Logf("route to %s back on node1 %v after it was deleted", block, took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Errorf("route came back only after %v: not repaired by the agent's netlink watch", took)
	}
}

// agentRestart restarts two agents one after the other while a ping runs between their
// containers; the first sync after a start must not flush anything, so nothing is lost.
// settle, if not nil, runs after the restarts with the ping still going (e.g. to wait for BGP
// sessions to come back, which is when a peer could drop the restarted node's routes).
func agentRestart(t *testing.T, c *cluster.Cluster, from, to *cluster.Container, settle func(), hosts ...string) {
	p := cluster.StartPinger(from, to)
	time.Sleep(500 * time.Millisecond)
	for _, h := range hosts {
		if _, err := c.RestartAgent(h); err != nil {
			p.Stop()
			t.Fatal(err)
		}
	}
	if settle != nil {
		settle()
	}
	time.Sleep(500 * time.Millisecond)
	sent, got := p.Stop()
	t.Logf("%s -> %s across agent restarts of %v: %d/%d replies", from, to, hosts, got, sent)
	if sent < 5 || got != sent {
		t.Errorf("%s -> %s: %d/%d replies across the restarts, want no loss", from, to, got, sent)
	}
}

// containerRemoval deletes a container through CNI DEL: its host route and veth go, its
// address stops answering, and the others still reach each other.
func containerRemoval(t *testing.T, c *cluster.Cluster, gone, other *cluster.Container) {
	h := c.Host(gone.Host)
	if err := c.DelContainer(gone); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, c, gone.Host, netip.PrefixFrom(gone.IP, 32), "workload route gone",
		func(_ cluster.Route, ok bool) bool { return !ok })
	if _, err := h.NL.LinkByName(gone.HostVeth); err == nil {
		t.Errorf("host veth %s still exists after CNI DEL", gone.HostVeth)
	}
	if got, _ := testbed.Ping(other.NS, gone.IP, 1, 500*time.Millisecond); got != 0 {
		t.Errorf("%s still answers after removal", gone.IP)
	}
	out, err := c.Ctl(nil, "get", "workloadendpoints", "-A", "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, gone.IP.String()) {
		t.Errorf("a workload endpoint with %s is still in the datastore:\n%s", gone.IP, out)
	}
}

// nodeRemoval stops a node's agent and deletes its Node: every other host drops the routes
// to its blocks, and the survivors still reach each other.
func nodeRemoval(t *testing.T, c *cluster.Cluster, a, b *cluster.Container, host string) {
	blocks, err := cluster.Blocks(c.Host(host))
	if err != nil || len(blocks) == 0 {
		t.Fatalf("%s has no blocks to remove (%v)", host, err)
	}
	if err := c.StopAgent(host); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Ctl(nil, "delete", "node", host); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, other := range []string{a.Host, b.Host} {
		for _, blk := range blocks {
			waitRoute(t, c, other, blk, "route to "+host+"'s block "+blk.String()+" gone",
				func(_ cluster.Route, ok bool) bool { return !ok })
		}
	}
	// calicoctl's `delete node` also releases the node's IPAM (addresses, affinities);
	// brindle's does not yet (see the report), so the IPAM is cleaned with gc here.
	if out, err := c.Ctl(nil, "ipam", "gc", "--grace-period", "0s"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := c.Ctl(nil, "ipam", "check"); err != nil {
		t.Errorf("IPAM not clean after deleting %s and gc: %v\n%s", host, err, out)
	}
	matrix(t, []*cluster.Container{a, b})
}
