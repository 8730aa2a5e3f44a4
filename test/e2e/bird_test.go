package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

const (
	birdAS     = 65000
	clusterAS  = 63400 // the seed's BGPConfiguration
	birdPrefix = "198.51.100.0/24"
)

// birdConf is an external router with Calico-like BIRD timers: it announces one static
// prefix and takes every route the nodes send.
const birdConf = `router id %[1]s;
protocol device { scan time 10; }
protocol static { ipv4; route %[2]s blackhole; }
template bgp brindle_node {
  local %[1]s as %[3]d;
  ipv4 { import all; export where source = RTS_STATIC; };
  graceful restart;
  connect delay time 1; connect retry time 2; error wait time 1,5;
}
%[4]s`

// birdPeer starts BIRD 2 in the "bird" host, makes it a global BGPPeer, and checks both
// directions: BIRD learns every block, every node's kernel gets BIRD's prefix.
func birdPeer(t *testing.T, c *cluster.Cluster, cts []*cluster.Container) {
	birdBin, err := exec.LookPath("bird")
	if err != nil {
		t.Fatalf("bird2 is not installed (scripts/setup.sh installs it): %v", err)
	}
	h := c.Host("bird")
	addr := h.Addr.Addr()
	var neighbors strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&neighbors, "protocol bgp %s from brindle_node { neighbor %s as %d; }\n", n, hostIP(c, n), clusterAS)
	}
	dir := t.TempDir()
	conf, sock := filepath.Join(dir, "bird.conf"), filepath.Join(dir, "bird.ctl")
	if err := os.WriteFile(conf, fmt.Appendf(nil, birdConf, addr, birdPrefix, birdAS, neighbors.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := h.Start(testbed.ProcOptions{Name: "bird", Path: birdBin, Args: []string{"-f", "-c", conf, "-s", sock}, LogDir: c.LogDir()})
	if err != nil {
		t.Fatal(err)
	}
	c.Track(p)
	if err := c.Apply(fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: bird-router
spec:
  peerIP: %s
  asNumber: %d
`, addr, birdAS)); err != nil {
		t.Fatal(err)
	}

	// Every node now has BIRD as a global peer next to its reflector sessions.
	rr := peersOf(c, "node1", "node specific", nodes...)
	rr[addr.String()] = "global"
	waitPeers(t, c, "node1", rr)
	for _, n := range []string{"node2", "node3"} {
		waitPeers(t, c, n, map[string]string{hostIP(c, "node1").String(): "node specific", addr.String(): "global"})
	}

	birdc := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return h.Run(ctx, testbed.RunOptions{Path: "birdc", Args: append([]string{"-s", sock}, args...)})
	}
	for _, ct := range cts {
		blk := blockOf(t, c, ct)
		owner := hostIP(c, ct.Host).String()
		err := cluster.WaitFor(30*time.Second, "BIRD to learn "+blk.String()+" via "+owner, func() (bool, string) {
			out, err := birdc("show", "route", "for", blk.Addr().String())
			return err == nil && strings.Contains(out, blk.String()) && strings.Contains(out, "via "+owner), out
		})
		if err != nil {
			t.Error(err)
		}
	}
	if out, err := birdc("show", "route"); err == nil {
		t.Logf("BIRD's routes:\n%s", out)
	}
	pfx := netip.MustParsePrefix(birdPrefix)
	for _, n := range nodes {
		waitRoute(t, c, n, pfx, "BIRD's "+birdPrefix+" via "+addr.String()+" proto bird",
			func(r cluster.Route, ok bool) bool { return ok && r.Gw == addr && r.Dev == "eth0" && r.Proto == 12 })
	}
}
