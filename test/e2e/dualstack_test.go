package e2e

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

var (
	subnetA6 = netip.MustParsePrefix("fd00:30:1::/64")
	subnetB6 = netip.MustParsePrefix("fd00:30:2::/64")
	pool6    = netip.MustParsePrefix("fd00:244::/112")
)

// dualStack is a bed with an IPv6 prefix beside each IPv4 subnet.
func dualStack(o testbed.Options) testbed.Options {
	o.Subnets6 = []netip.Prefix{subnetA6, subnetB6}
	return o
}

// startDualCluster is startCluster whose containers get an IPv6 address (and no IPv4 one
// when v6only).
func startDualCluster(t *testing.T, bed testbed.Options, v6only bool) *cluster.Cluster {
	t.Helper()
	testbed.RequireRoot(t)
	c, err := cluster.Start(cluster.Options{Bed: bed, Binary: brindleBin(t), WorkDir: t.TempDir(), IPv6: true, NoIPv4: v6only})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 60)
	return c
}

// applyPool6 applies an IPv6 pool (Calico's default IPv6 block size, 122).
func applyPool6(t *testing.T, c *cluster.Cluster, vxlan string, nat bool) {
	t.Helper()
	if err := c.Apply(fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: default-ipv6-ippool
spec:
  cidr: %s
  blockSize: 122
  ipipMode: Never
  vxlanMode: %s
  natOutgoing: %v
  nodeSelector: all()
`, pool6, vxlan, nat)); err != nil {
		t.Fatal(err)
	}
}

func hostIP6(c *cluster.Cluster, host string) netip.Addr { return c.Host(host).Addr6.Addr() }

// expectRoute6 waits until from routes ct's IPv6 block via ct's host's IPv6 address on eth0
// with the given protocol (12: learned over BGP, 80: from the datastore).
func expectRoute6(t *testing.T, c *cluster.Cluster, from string, ct *cluster.Container, proto int) {
	t.Helper()
	blk, err := cluster.BlockOf(c.Host(ct.Host), ct.IP6)
	if err != nil {
		t.Fatal(err)
	}
	gw := hostIP6(c, ct.Host)
	waitRoute(t, c, from, blk, fmt.Sprintf("%s via %s dev eth0 proto %d", blk, gw, proto),
		func(r cluster.Route, ok bool) bool { return ok && r.Gw == gw && r.Dev == "eth0" && r.Proto == proto })
}

func matrix6(t *testing.T, cts []*cluster.Container) {
	t.Helper()
	if err := cluster.WaitMatrixFamily(cts, 20*time.Second, false); err != nil {
		t.Fatal(err)
	}
	if failed := cluster.PingMatrixFamily(cts, 2, false); len(failed) > 0 {
		t.Errorf("IPv6 ping matrix:\n%s", strings.Join(failed, "\n"))
	}
}

// TestDualStackBGP: an IPv4 and an IPv6 pool without encapsulation, routes learned over
// BGP. As with Calico's bird and bird6, the mesh has one session per family: IPv6 blocks
// travel over sessions between the nodes' bgp.ipv6Address and arrive with that address as
// next hop.
func TestDualStackBGP(t *testing.T) {
	c := startDualCluster(t, dualStack(oneSubnet()), false)
	applyPool(t, c, "Never", "Never")
	applyPool6(t, c, "Never", true)
	startAgents(t, c, cluster.AgentOptions{IP6: true}, nodes...)
	var cts []*cluster.Container
	for i, n := range nodes {
		cts = append(cts, addContainer(t, c, n, fmt.Sprintf("c%d", i+1)))
	}
	for _, ct := range cts {
		if !pool6.Contains(ct.IP6) || !ct.IP.Is4() {
			t.Fatalf("container %s: addresses %s and %s, want one of each family", ct.Name, ct.IP, ct.IP6)
		}
	}

	t.Run("IPv6 routes and matrix", func(t *testing.T) {
		for _, from := range nodes {
			for _, ct := range cts {
				if ct.Host != from {
					expectRoute6(t, c, from, ct, 12)
				}
			}
		}
		matrix6(t, cts)
		matrix(t, cts)
		if err := cluster.PMTUFamily(cts[0], cts[1], podMTU(t, c, "node1", 1500), false); err != nil {
			t.Error(err)
		}
	})
	t.Run("node status IPv6 table", func(t *testing.T) {
		err := cluster.WaitFor(30*time.Second, "node1's IPv6 sessions to be Established", func() (bool, string) {
			out, err := c.NodeStatus("node1")
			if err != nil {
				return false, err.Error()
			}
			rows, err := cluster.ParseNodeStatusV6(out)
			if err != nil {
				return false, err.Error()
			}
			up := map[string]bool{}
			for _, r := range rows {
				up[r.Addr] = r.State == "up" && r.Info == "Established"
			}
			return up[hostIP6(c, "node2").String()] && up[hostIP6(c, "node3").String()], out
		})
		if err != nil {
			t.Error(err)
		}
	})
	t.Run("NAT66 to an outside host", func(t *testing.T) { nat66(t, c, cts[0]) })
	t.Run("BIRD learns IPv6 blocks", func(t *testing.T) { birdPeer6(t, c, cts) })
}

// nat66 pings "ext" (behind the router, no route back to the IPv6 pool) over IPv6: replies
// come back only if the node masqueraded the container's address to its own.
func nat66(t *testing.T, c *cluster.Cluster, from *cluster.Container) {
	ext := c.Host("ext")
	if r, ok, _ := cluster.RouteTo(ext, pool6); ok {
		t.Fatalf("ext has a route back to the pool (%s): the test would prove nothing", r)
	}
	capt, err := c.Bed.Fabric.Capture(c.HostPort("ext"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := testbed.Ping(from.NS, ext.Addr6.Addr(), 3, time.Second)
	pkts := capt.Stop()
	if err != nil || got != 3 {
		t.Fatalf("ping %s -> ext %s: %d/3 (err %v)", from, ext.Addr6.Addr(), got, err)
	}
	masq, leaked := 0, 0
	for _, p := range pkts {
		switch {
		case p.Outer.Dst != ext.Addr6.Addr():
		case p.Outer.Src == hostIP6(c, from.Host):
			masq++
		case p.Outer.Src == from.IP6:
			leaked++
		}
	}
	if masq < 3 || leaked > 0 {
		t.Errorf("at ext: %d packets from the node's IPv6 address, %d from the container's (want >= 3 and 0)", masq, leaked)
	}
}

// TestIPv6OnlyDatastoreRoutes: containers with an IPv6 address only, BGP off, so every
// remote IPv6 block route comes from the datastore's block affinities.
func TestIPv6OnlyDatastoreRoutes(t *testing.T) {
	c := startDualCluster(t, dualStack(oneSubnet()), true)
	applyPool6(t, c, "Never", false)
	startAgents(t, c, cluster.AgentOptions{NoBGP: true, IP6: true}, nodes...)
	var cts []*cluster.Container
	for i, n := range nodes {
		ct := addContainer(t, c, n, fmt.Sprintf("c%d", i+1))
		if ct.IP.IsValid() {
			t.Fatalf("container %s got IPv4 %s in an IPv6-only cluster", ct.Name, ct.IP)
		}
		cts = append(cts, ct)
	}
	for _, from := range nodes {
		for _, ct := range cts {
			if ct.Host != from {
				expectRoute6(t, c, from, ct, 80)
			}
		}
	}
	matrix6(t, cts)

	// A container removed: its /128 goes from its host, the others stay reachable.
	gone := cts[2]
	if err := c.DelContainer(gone); err != nil {
		t.Fatal(err)
	}
	waitRoute(t, c, gone.Host, netip.PrefixFrom(gone.IP6, 128), "no route for the removed container",
		func(_ cluster.Route, ok bool) bool { return !ok })
	matrix6(t, cts[:2])
}

const (
	birdPrefix6 = "fd00:198::/64"
	defaultAS   = 64512 // Calico's default AS: this cluster applies no BGPConfiguration
)

// birdPeer6 starts BIRD 2 in the "bird" host as an IPv6 global BGPPeer: it must learn every
// IPv6 block with its owner's IPv6 address as next hop, and every node must get its prefix.
// The sessions run between IPv6 addresses with an ipv6 channel.
func birdPeer6(t *testing.T, c *cluster.Cluster, cts []*cluster.Container) {
	h := c.Host("bird")
	addr := h.Addr6.Addr()
	conf := fmt.Sprintf(birdEdgeConf, h.Addr.Addr(), "ipv6", birdPrefix6, addr, birdAS, birdNeighbors(c, defaultAS, hostIP6))
	bc, _ := startBird(t, c, h.Netns, "bird6", conf, "bird6-router", addr, birdAS)
	for _, ct := range cts {
		blk, err := cluster.BlockOf(c.Host(ct.Host), ct.IP6)
		if err != nil {
			t.Fatal(err)
		}
		expectBirdLearns(t, bc, blk, hostIP6(c, ct.Host).String(), 45*time.Second)
	}
	if out, err := bc("show", "route"); err == nil {
		t.Logf("BIRD's IPv6 routes:\n%s", out)
	}
	if t.Failed() {
		out, _ := bc("show", "protocols", "all")
		t.Logf("BIRD's protocols:\n%s", out)
	}
	expectBirdPrefix(t, c, birdPrefix6, addr)
}
