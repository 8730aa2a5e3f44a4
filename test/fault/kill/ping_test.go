package kill

import (
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestSIGKILLUnderPing: two hosts in a BGP full mesh, a container on each pinging the other
// every 10 ms both ways. node1's agent is SIGKILLed, stays dead for a second, and starts
// again; once its sessions are back and its warm-up is over, node2's agent gets the same.
// No ping may be lost, and on the killed agent's host neither a route nor the brindle
// nftables tables may be touched (`ip monitor route`, `nft monitor`): the restart
// recognises what it left behind instead of flushing and rewriting it.
func TestSIGKILLUnderPing(t *testing.T) {
	hosts := []string{"node1", "node2"}
	c := startCluster(t, hosts...)
	applyPool(t, c)
	startAgents(t, c, cluster.AgentOptions{}, hosts...)
	c1, c2 := addContainer(t, c, "node1", "c1"), addContainer(t, c, "node2", "c2")
	waitBGPRoute(t, c, "node1", c2)
	waitBGPRoute(t, c, "node2", c1)
	if err := cluster.WaitMatrix([]*cluster.Container{c1, c2}, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	fwd, err := cluster.StartFastPinger(c1, c2, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	back, err := cluster.StartFastPinger(c2, c1, 10*time.Millisecond)
	if err != nil {
		fwd.Stop()
		t.Fatal(err)
	}
	for _, h := range hosts {
		killAndRestart(t, c, h)
	}
	rf, rb := fwd.Stop(), back.Stop()
	t.Logf("c1 -> c2 every 10 ms across both SIGKILLs: %s", rf)
	t.Logf("c2 -> c1 every 10 ms across both SIGKILLs: %s", rb)
	for _, r := range []cluster.PingResult{rf, rb} {
		if r.Sent < 500 || r.Got != r.Sent {
			t.Errorf("pings lost across the SIGKILLs: %s (want none)", r)
		}
	}
}

// killAndRestart SIGKILLs host's agent under a kernel watch, restarts it after a second,
// waits until its sessions are Established and the warm-up is over, and fails the test for
// any change to brindle's routes or nftables tables on that host in between.
func killAndRestart(t *testing.T, c *cluster.Cluster, host string) {
	t.Helper()
	h := c.Host(host)
	before := settled(t, h)
	routesBefore, err := cluster.Routes(h)
	if err != nil {
		t.Fatal(err)
	}
	w := watchKernel(t, h)
	a, err := c.KillAgent(host)
	if err != nil {
		w.stop()
		t.Fatal(err)
	}
	time.Sleep(time.Second) // dead for a while: the kernel forwards on its own
	start := time.Now()
	if _, err := c.StartAgent(host, a.Opts); err != nil {
		w.stop()
		t.Fatal(err)
	}
	ready := time.Since(start)
	if _, err := c.WaitEstablished(host, 30*time.Second); err != nil {
		w.stop()
		t.Fatal(err)
	}
	established := time.Since(start)
	// The warm-up keeps the kernel's BGP routes until every session has been up for 3 s; the
	// switch to the speaker's table happens on the next 1 s tick after that.
	time.Sleep(5 * time.Second)
	routeLines, nftLines := w.stop()
	t.Logf("%s: agent SIGKILLed, restarted: ready after %v, sessions Established after %v",
		host, ready.Round(time.Millisecond), established.Round(time.Millisecond))
	if len(routeLines) > 0 {
		t.Errorf("%s: the restart changed brindle's routes (ip monitor route):\n%s", host, strings.Join(routeLines, "\n"))
	}
	if len(nftLines) > 0 {
		t.Errorf("%s: the restart rewrote brindle's nftables tables (nft monitor):\n%s", host, strings.Join(nftLines, "\n"))
	}
	if after := nftRuleset(t, h); after != before {
		t.Errorf("%s: nftables ruleset differs after the restart:\nbefore:\n%s\nafter:\n%s", host, before, after)
	}
	routesAfter, err := cluster.Routes(h)
	if err != nil {
		t.Fatal(err)
	}
	if b, a := routeSet(routesBefore), routeSet(routesAfter); b != a {
		t.Errorf("%s: routes differ after the restart:\nbefore:\n%s\nafter:\n%s", host, b, a)
	}
}

func routeSet(rs []cluster.Route) string {
	var lines []string
	for _, r := range rs {
		lines = append(lines, r.String())
	}
	return strings.Join(lines, "\n")
}
