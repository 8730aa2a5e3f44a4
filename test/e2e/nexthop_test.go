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

const (
	torAS = 64512 // the cluster's default AS: an iBGP route reflector
	// torPrefix is announced by the ToR with its own address as next hop; torUnroutable is
	// announced with a next hop (TEST-NET-1) that no namespace of the bed routes.
	torPrefix     = "198.51.100.0/24"
	torUnroutable = "203.0.113.0/24"
	torBadHop     = "192.0.2.99"
	unresolvedMsg = "BGP next hop cannot be resolved"
)

// torConf: BIRD 2 in the router namespace as the top-of-rack router of both subnets, in
// the cluster's AS and a route reflector for every node: it learns the blocks and reflects
// them with their original next hop (the owning node). Every node peers with its subnet-A
// address (one global BGPPeer), so node3's session crosses the router. BIRD resolves next
// hops through its connected subnets (protocol direct) and puts the blocks into the router's
// kernel, which is what carries pod traffic between the subnets. It also announces two
// prefixes of its own: one with its own address as next hop, one with a next hop
// (TEST-NET-1) that no namespace of the bed routes.
const torConf = `router id %[1]s;
protocol device { scan time 10; }
protocol direct { ipv4; interface "*"; }
protocol kernel { ipv4 { export where source = RTS_BGP; }; }
protocol static { ipv4; route %[2]s blackhole; route %[3]s blackhole; }
filter to_nodes {
  if net = %[3]s then bgp_next_hop = %[4]s;
  if source = RTS_STATIC || source = RTS_BGP then accept;
  reject;
}
template bgp brindle_node {
  local %[1]s as %[5]d;
  ipv4 { import all; export filter to_nodes; };
  rr client;
  graceful restart;
  connect delay time 1; connect retry time 2; error wait time 1,5;
}
%[6]s`

// TestBGPNextHopsAcrossSubnets: no encapsulation, node1 and node2 on subnet A, node3 behind
// the router on subnet B, the default full mesh plus BIRD on the router as a top-of-rack
// peer that learns the blocks. A block's next hop is its node, which for the other subnet is
// not on a connected subnet: it must be resolved through the kernel's route to it (BIRD's
// `gateway recursive`), follow that route when it changes, and a next hop nothing routes is
// logged once, not retried every second.
func TestBGPNextHopsAcrossSubnets(t *testing.T) {
	c := startCluster(t, twoSubnets())
	applyPool(t, c, "Never", "Never")
	birdc, bird := startToR(t, c)
	startAgents(t, c, cluster.AgentOptions{}, nodes...)
	cts := []*cluster.Container{addContainer(t, c, "node1", "c1"), addContainer(t, c, "node2", "c2"),
		addContainer(t, c, "node3", "c3")}
	tor, rtrA, rtrB := c.Bed.RouterAddr(0), c.Bed.RouterAddr(0), c.Bed.RouterAddr(1)

	t.Run("mesh and ToR across the router", func(t *testing.T) {
		for _, n := range nodes {
			want := peersOf(c, n, "node-to-node mesh", nodes...)
			want[tor.String()] = "global"
			waitPeers(t, c, n, want)
		}
		expectBlockVia(t, c, "node1", cts[2], rtrA)
		expectBlockVia(t, c, "node2", cts[2], rtrA)
		expectBlockVia(t, c, "node3", cts[0], rtrB)
		expectBlockVia(t, c, "node3", cts[1], rtrB)
		expectBlockVia(t, c, "node1", cts[1], hostIP(c, "node2")) // same subnet: the node itself
		// The ToR's prefix has its subnet-A address as next hop: on-link for node1 and
		// node2, behind the router's subnet-B leg for node3 (a multihop eBGP peer).
		pfx := netip.MustParsePrefix(torPrefix)
		for n, gw := range map[string]netip.Addr{"node1": tor, "node2": tor, "node3": rtrB} {
			waitRoute(t, c, n, pfx, torPrefix+" via "+gw.String()+" dev eth0 proto bird",
				func(r cluster.Route, ok bool) bool { return ok && r.Gw == gw && r.Dev == "eth0" && r.Proto == 12 })
		}
		for _, ct := range cts {
			blk, owner := blockOf(t, c, ct), hostIP(c, ct.Host).String()
			if err := cluster.WaitFor(30*time.Second, "the ToR to learn "+blk.String()+" via "+owner, func() (bool, string) {
				out, err := birdc("show", "route", "for", blk.Addr().String())
				return err == nil && strings.Contains(out, "via "+owner), out
			}); err != nil {
				t.Error(err)
			}
		}
		matrix(t, cts)
		if out, err := cluster.IP(c.Host("node1").Netns, "route", "show", "proto", "bird"); err == nil {
			t.Logf("node1's BGP routes:\n%s", out)
		}
	})

	t.Run("agent restart under traffic", func(t *testing.T) {
		// The restarted agent starts from the kernel's `via <router>` routes (its warm-up) and
		// then resolves the speaker's next hops to the same routes: no loss, no rewrite.
		agentRestart(t, c, cts[0], cts[2], func() {
			want := peersOf(c, "node1", "node-to-node mesh", nodes...)
			want[tor.String()] = "global"
			waitPeers(t, c, "node1", want)
			time.Sleep(4 * time.Second)
		}, "node1")
		expectBlockVia(t, c, "node1", cts[2], rtrA)
	})
	t.Run("route to the next hop changes", func(t *testing.T) {
		// node1 reaches node3 through node2 instead of the router (node2 forwards, and has
		// its own route to c3's block): the block route must follow.
		n1 := c.Host("node1").Netns
		host3 := netip.PrefixFrom(hostIP(c, "node3"), 32).String()
		if out, err := cluster.IP(n1, "route", "add", host3, "via", hostIP(c, "node2").String(), "dev", "eth0"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		expectBlockVia(t, c, "node1", cts[2], hostIP(c, "node2"))
		if got, err := testbed.Ping(cts[0].NS, cts[2].IP, 3, 2*time.Second); err != nil || got == 0 {
			t.Errorf("%s -> %s through node2: %d/3 replies (%v)", cts[0], cts[2], got, err)
		}
		if out, err := cluster.IP(n1, "route", "del", host3); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		expectBlockVia(t, c, "node1", cts[2], rtrA)
		matrix(t, cts)
	})

	t.Run("route reflector only", func(t *testing.T) {
		// Without the mesh every block comes reflected by the ToR, still with its owner as
		// next hop.
		if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  nodeToNodeMeshEnabled: false
`); err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			waitPeers(t, c, n, map[string]string{tor.String(): "global"})
		}
		expectBlockVia(t, c, "node1", cts[2], rtrA)
		expectBlockVia(t, c, "node3", cts[0], rtrB)
		expectBlockVia(t, c, "node1", cts[1], hostIP(c, "node2"))
		matrix(t, cts)
	})
	t.Run("unresolvable next hop", func(t *testing.T) { unresolvable(t, c, tor) })
	t.Run("ToR goes away", func(t *testing.T) {
		// BIRD ends its sessions with a NOTIFICATION; node status says so, from GoBGP's BMP
		// peer-down report.
		if err := bird.Stop(5 * time.Second); err != nil {
			t.Logf("stopping BIRD: %v", err)
		}
		var last string
		err := cluster.WaitFor(15*time.Second, "node1's status to give the ToR's down reason", func() (bool, string) {
			out, err := c.NodeStatus("node1")
			last = out
			return err == nil && strings.Contains(out, "Last down: Received: "), out
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("node status on node1 after the ToR stopped:\n%s", last)
	})
}

// startToR starts BIRD in the router namespace, makes it a global BGPPeer and returns a
// birdc runner and the process.
func startToR(t *testing.T, c *cluster.Cluster) (birdCtl, *testbed.Proc) {
	tor := c.Bed.RouterAddr(0)
	conf := fmt.Sprintf(torConf, tor, torPrefix, torUnroutable, torBadHop, torAS, birdNeighbors(c, torAS, hostIP))
	return startBird(t, c, c.Bed.Router, "bird-tor", conf, "tor", tor, torAS)
}

// unresolvable: the ToR's prefix with an unroutable next hop is not installed and reported
// once by each agent, however long it stays so, and installed once a route to that next hop
// appears.
func unresolvable(t *testing.T, c *cluster.Cluster, tor netip.Addr) {
	bad := netip.MustParsePrefix(torUnroutable)
	// The log file of a host's agent spans its restarts: count per start.
	count := func(n string, match func(line string) bool) int {
		k := 0
		for _, line := range strings.Split(c.Agent(n).Proc.Logs(), "\n") {
			if match(line) {
				k++
			}
		}
		return k
	}
	logged := func(n string) int {
		return count(n, func(l string) bool { return strings.Contains(l, unresolvedMsg) && strings.Contains(l, torBadHop) })
	}
	starts := func(n string) int {
		return count(n, func(l string) bool { return strings.Contains(l, `"node registered"`) })
	}
	for _, n := range nodes {
		if err := cluster.WaitFor(15*time.Second, n+" to report "+torBadHop+" unresolvable", func() (bool, string) {
			return logged(n) > 0, "not logged yet"
		}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(4 * time.Second) // the old agent logged the failure every second
	for _, n := range nodes {
		if got, want := logged(n), starts(n); got != want {
			t.Errorf("%s logged the unresolvable next hop %s %d times in %d agent runs, want once per run", n, torBadHop, got, want)
		}
		if r, ok, _ := cluster.RouteTo(c.Host(n), bad); ok {
			t.Errorf("%s installed %s although its next hop is unroutable", n, r)
		}
	}
	// A route to it appears on node1 (towards the router, which has none: nothing leaves the
	// bed): the prefix is installed through it.
	if out, err := cluster.IP(c.Host("node1").Netns, "route", "add", "192.0.2.0/24", "via", tor.String()); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	waitRoute(t, c, "node1", bad, torUnroutable+" via "+tor.String(),
		func(r cluster.Route, ok bool) bool { return ok && r.Gw == tor && r.Proto == 12 })
}

// expectBlockVia waits for host's route to ct's block via gw on eth0, proto bird.
func expectBlockVia(t *testing.T, c *cluster.Cluster, host string, ct *cluster.Container, gw netip.Addr) {
	t.Helper()
	waitRoute(t, c, host, blockOf(t, c, ct), fmt.Sprintf("route to %s's block via %s dev eth0 proto bird", ct, gw),
		func(r cluster.Route, ok bool) bool { return ok && r.Dev == "eth0" && r.Gw == gw && r.Proto == 12 })
}
