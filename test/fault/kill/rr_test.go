package kill

import (
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestSIGKILLRouteReflector: the seed's route-reflector layout (node1 labelled
// route-reflector=true with cluster ID 1.1.1.1, a BGPPeer from all() to it, the mesh off, AS
// 63400). Its clients node2 and node3 learn each other's blocks only through node1. node1's
// agent is SIGKILLed under 10 ms pings between the clients' containers, stays dead for a
// second and restarts: graceful restart must keep the reflected routes on the clients, no
// ping may be lost, and no host (reflector or client) may see a brindle route or nftables
// change while the reflector comes back.
func TestSIGKILLRouteReflector(t *testing.T) {
	hosts := []string{"node1", "node2", "node3"}
	c := startCluster(t, hosts...)
	applyPool(t, c)
	startAgents(t, c, cluster.AgentOptions{}, hosts...)
	cts := []*cluster.Container{addContainer(t, c, "node1", "c1"), addContainer(t, c, "node2", "c2"),
		addContainer(t, c, "node3", "c3")}
	rr, err := cluster.Seed("01-calico-reflector-master.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rr = strings.ReplaceAll(rr, "master01", "node1")
	rr = strings.ReplaceAll(rr, "100.100.137.200/24", c.Host("node1").Addr.String())
	rr = cluster.DropField(rr, "ipv4IPIPTunnelAddr") // no encapsulation: node1 has no tunnel address
	for _, name := range []string{"", "02-calico-reflector-bgppeer.yaml", "03-calico-reflector-defaultconfig.yaml"} {
		doc := rr
		if name != "" {
			if doc, err = cluster.Seed(name); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Apply(doc); err != nil {
			t.Fatal(err)
		}
	}
	// Every client has exactly one session, the reflector one per client.
	if err := cluster.WaitFor(60*time.Second, "the route-reflector sessions", func() (bool, string) {
		var sb strings.Builder
		for _, h := range hosts {
			out, err := c.NodeStatus(h)
			rows, perr := cluster.ParseNodeStatus(out)
			want := 1
			if h == "node1" {
				want = 2
			}
			if err != nil || perr != nil || len(rows) != want {
				sb.WriteString(h + ": " + out)
				return false, sb.String()
			}
			for _, r := range rows {
				if r.Info != "Established" || r.Type != "node specific" {
					return false, h + ": " + out
				}
			}
		}
		return true, ""
	}); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		for _, ct := range cts {
			if ct.Host != h {
				waitBGPRoute(t, c, h, ct)
			}
		}
	}
	if err := cluster.WaitMatrix(cts, 20*time.Second); err != nil {
		t.Fatal(err)
	}

	c2, c3 := cts[1], cts[2]
	var clientWatch []*kernelWatch
	for _, h := range []string{"node2", "node3"} {
		settled(t, c.Host(h))
		clientWatch = append(clientWatch, watchKernel(t, c.Host(h)))
	}
	fwd, err := cluster.StartFastPinger(c2, c3, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	back, err := cluster.StartFastPinger(c3, c2, 10*time.Millisecond)
	if err != nil {
		fwd.Stop()
		t.Fatal(err)
	}
	killAndRestart(t, c, "node1") // waits for both sessions and the warm-up
	rf, rb := fwd.Stop(), back.Stop()
	t.Logf("c2 -> c3 (client to client) every 10 ms across the reflector's SIGKILL: %s", rf)
	t.Logf("c3 -> c2 every 10 ms across the reflector's SIGKILL: %s", rb)
	for _, r := range []cluster.PingResult{rf, rb} {
		if r.Sent < 300 || r.Got != r.Sent {
			t.Errorf("pings between the clients lost across the reflector's SIGKILL: %s (want none)", r)
		}
	}
	for i, w := range clientWatch {
		routes, nft := w.stop()
		if len(routes) > 0 || len(nft) > 0 {
			t.Errorf("client %s: brindle's routes or tables changed while the reflector restarted:\n%s",
				[]string{"node2", "node3"}[i], strings.Join(append(routes, nft...), "\n"))
		}
	}
	for _, h := range hosts {
		for _, ct := range cts {
			if ct.Host != h {
				waitBGPRoute(t, c, h, ct)
			}
		}
	}
}
