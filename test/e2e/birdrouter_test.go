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

// birdCtl runs birdc against one BIRD's control socket.
type birdCtl func(args ...string) (string, error)

// birdEdgeConf is an external router with Calico-like BIRD timers: it announces one static
// prefix and takes every route the nodes send. The channel is family's ("ipv4" or "ipv6");
// the router id is always an IPv4 address, the session address is of that family.
const birdEdgeConf = `router id %[1]s;
protocol device { scan time 10; }
protocol static { %[2]s; route %[3]s blackhole; }
template bgp brindle_node {
  local %[4]s as %[5]d;
  %[2]s { import all; export where source = RTS_STATIC; };
  graceful restart;
  connect delay time 1; connect retry time 2; error wait time 1,5;
}
%[6]s`

// birdNeighbors is one session per node from the brindle_node template, to the node's
// address from ip, in AS as.
func birdNeighbors(c *cluster.Cluster, as int, ip func(*cluster.Cluster, string) netip.Addr) string {
	var b strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&b, "protocol bgp %s from brindle_node { neighbor %s as %d; }\n", n, ip(c, n), as)
	}
	return b.String()
}

// startBird starts BIRD 2 in ns as name with conf, makes it the global BGPPeer peer at addr
// in AS as, and returns a birdc runner on its control socket and the process (tracked).
func startBird(t *testing.T, c *cluster.Cluster, ns *testbed.Netns, name, conf, peer string, addr netip.Addr, as int) (birdCtl, *testbed.Proc) {
	t.Helper()
	birdBin, err := exec.LookPath("bird")
	if err != nil {
		t.Fatalf("bird2 is not installed (scripts/setup.sh installs it): %v", err)
	}
	dir := t.TempDir()
	confPath, sock := filepath.Join(dir, name+".conf"), filepath.Join(dir, name+".ctl")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := c.StartProc(ns, testbed.ProcOptions{Name: name, Path: birdBin,
		Args: []string{"-f", "-c", confPath, "-s", sock}, LogDir: c.LogDir()})
	if err != nil {
		t.Fatal(err)
	}
	c.Track(p)
	if err := c.Apply(fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: %s
spec:
  peerIP: %s
  asNumber: %d
`, peer, addr, as)); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return ns.Run(ctx, testbed.RunOptions{Path: "birdc", Args: append([]string{"-s", sock}, args...)})
	}, p
}

// expectBirdLearns waits until BIRD has blk with owner as next hop; an error otherwise.
func expectBirdLearns(t *testing.T, bc birdCtl, blk netip.Prefix, owner string, timeout time.Duration) {
	t.Helper()
	err := cluster.WaitFor(timeout, "BIRD to learn "+blk.String()+" via "+owner, func() (bool, string) {
		out, err := bc("show", "route", "for", blk.Addr().String())
		return err == nil && strings.Contains(out, blk.String()) && strings.Contains(out, "via "+owner), out
	})
	if err != nil {
		t.Error(err)
	}
}

// expectBirdPrefix waits until every node's kernel routes prefix via BIRD at addr on eth0,
// proto bird.
func expectBirdPrefix(t *testing.T, c *cluster.Cluster, prefix string, addr netip.Addr) {
	t.Helper()
	pfx := netip.MustParsePrefix(prefix)
	for _, n := range nodes {
		waitRoute(t, c, n, pfx, "BIRD's "+prefix+" via "+addr.String()+" proto bird",
			func(r cluster.Route, ok bool) bool { return ok && r.Gw == addr && r.Dev == "eth0" && r.Proto == 12 })
	}
}
