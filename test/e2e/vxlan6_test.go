package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// TestIPv6VXLAN: an IPv6-only pool with VXLAN on the two-subnet bed (node3 behind the
// router, which has no route to the pool). Always: every remote block goes through
// vxlan-v6.calico; CrossSubnet: only node3's, node1 and node2 route plainly over IPv6.
func TestIPv6VXLAN(t *testing.T) {
	for _, mode := range []string{"Always", "CrossSubnet"} {
		t.Run(mode, func(t *testing.T) {
			c := startDualCluster(t, dualStack(twoSubnets()), true)
			applyPool6(t, c, mode, false)
			startAgents(t, c, cluster.AgentOptions{NoBGP: true, IP6: true}, nodes...)
			var cts []*cluster.Container
			for i, n := range nodes {
				cts = append(cts, addContainer(t, c, n, fmt.Sprintf("c%d", i+1)))
			}
			for _, from := range nodes {
				for _, ct := range cts {
					if ct.Host == from {
						continue
					}
					blk, err := cluster.BlockOf(c.Host(ct.Host), ct.IP6)
					if err != nil {
						t.Fatal(err)
					}
					plain := mode == "CrossSubnet" && c.Host(from).Subnet == c.Host(ct.Host).Subnet
					waitRoute(t, c, from, blk, fmt.Sprintf("%s from %s (plain %v)", blk, from, plain), func(r cluster.Route, ok bool) bool {
						if plain {
							return ok && r.Dev == "eth0" && r.Gw == hostIP6(c, ct.Host)
						}
						return ok && r.Dev == "vxlan-v6.calico" && r.OnLink && r.Gw.Is6()
					})
				}
			}
			matrix6(t, cts)
			expectVXLAN6(t, c, cts[0], cts[2])
			if err := cluster.PMTUFamily(cts[0], cts[2], podMTU(t, c, "node1", 1430), false); err != nil {
				t.Error(err)
			}
		})
	}
}

// expectVXLAN6 pings to from from while capturing on from's fabric port: the packets must be
// VXLAN between the hosts' IPv6 addresses carrying the containers' IPv6 packets.
func expectVXLAN6(t *testing.T, c *cluster.Cluster, from, to *cluster.Container) {
	t.Helper()
	capt, err := c.Bed.Fabric.Capture(c.HostPort(from.Host))
	if err != nil {
		t.Fatal(err)
	}
	got, err := testbed.Ping(from.NS, to.IP6, 3, time.Second)
	pkts := capt.Stop()
	if err != nil || got != 3 {
		t.Fatalf("ping %s -> %s during capture: %d/3 (err %v)", from, to.IP6, got, err)
	}
	vx, plain := 0, 0
	for _, p := range pkts {
		switch {
		case p.Outer.Src == from.IP6 && p.Outer.Dst == to.IP6:
			plain++
		case p.VXLAN && p.Inner != nil && p.Inner.Src == from.IP6 && p.Inner.Dst == to.IP6 &&
			p.Outer.Src == hostIP6(c, from.Host) && p.Outer.Dst == hostIP6(c, to.Host):
			vx++
		}
	}
	if vx < 3 || plain > 0 {
		t.Errorf("%s -> %s: %d VXLAN-over-IPv6 packets, %d unencapsulated (want >= 3 and 0)", from, to.IP6, vx, plain)
	}
}
