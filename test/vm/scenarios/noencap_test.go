package scenarios

import (
	"net/netip"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestNoEncap is the seed's BGP chapter on the 6.1 kernel: no encapsulation, the full BGP
// mesh, three hosts on one subnet. Node status shows the mesh, routes are `<block> via <host>
// dev eth0 proto bird`, the containers' packets cross the fabric unchanged, the pod MTU is the
// fabric's, and natOutgoing masquerades traffic to a host outside the pools ("ext", behind
// the router, which has no route back to them).
func TestNoEncap(t *testing.T) {
	bed := oneSubnet()
	bed.Hosts = append(bed.Hosts, testbed.HostOptions{Name: "ext", Subnet: 1})
	c := startCluster(t, bed)
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	for _, h := range allNodes {
		out := waitPeers(t, c, h, peersOf(c, h, "node-to-node mesh", allNodes...))
		if h == "node1" {
			t.Logf("node status on node1:\n%s", out)
		}
		mtu, err := c.PodMTU(h)
		mustf(t, err, "pod MTU of %s", h)
		if mtu != 1500 {
			t.Errorf("%s: the agent wrote pod MTU %d, want 1500", h, mtu)
		}
	}
	for _, a := range cts {
		for _, b := range cts {
			if a != b {
				gw := hostIP(c, b.Host)
				r := waitRoute(t, c, a.Host, blockOf(t, c, b), "BGP route to "+b.Host+"'s block", func(r cluster.Route, ok bool) bool {
					return ok && r.Gw == gw && r.Dev == "eth0" && !r.OnLink && r.Proto == protoBird
				})
				t.Logf("%s: %s", a.Host, r)
			}
		}
	}
	matrix(t, cts)
	expectWire(t, c, cts[0], cts[1], wirePlain)
	natOutgoing(t, c, cts[0])
}

// natOutgoing pings ext from a container and wants every request to reach ext from the node's
// address, none from the container's.
func natOutgoing(t *testing.T, c *cluster.Cluster, from *cluster.Container) {
	t.Helper()
	ext := c.Host("ext")
	if r, ok, _ := cluster.RouteTo(ext, netip.MustParsePrefix("10.244.0.0/16")); ok {
		t.Fatalf("ext has a route back to the pool (%s): the check would prove nothing", r)
	}
	capt, err := c.Bed.Fabric.Capture(c.HostPort("ext"))
	mustf(t, err, "capture on ext's port")
	got, err := testbed.Ping(from.NS, ext.Addr.Addr(), 3, 2*time.Second)
	pkts := capt.Stop()
	if err != nil || got != 3 {
		t.Fatalf("ping %s -> ext %s: %d/3 replies (err %v)", from, ext.Addr.Addr(), got, err)
	}
	node := hostIP(c, from.Host)
	masq, leaked := 0, 0
	for _, p := range pkts {
		if p.Outer.Proto != 1 || p.Outer.Dst != ext.Addr.Addr() {
			continue
		}
		switch p.Outer.Src {
		case node:
			masq++
		case from.IP:
			leaked++
		}
	}
	t.Logf("natOutgoing: at ext, %d requests from the node address %s, %d from the container's %s", masq, node, leaked, from.IP)
	if masq < 3 || leaked > 0 {
		t.Errorf("natOutgoing: %d requests masqueraded to %s and %d leaked with %s, want all masqueraded", masq, node, leaked, from.IP)
	}
}
