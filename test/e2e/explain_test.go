package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/explain"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// explainJSON runs `brindle explain -o json` on host and decodes the walk. A walk that
// stops exits 2, which is not an error here: the result says where it stopped.
func explainJSON(t *testing.T, c *cluster.Cluster, host string, args ...string) (explain.Result, string) {
	t.Helper()
	out, err := c.Explain(host, append([]string{"-o", "json"}, args...)...)
	i := strings.IndexByte(out, '{')
	if i < 0 {
		t.Fatalf("explain %v on %s: %v\n%s", args, host, err, out)
	}
	var r explain.Result
	if derr := json.NewDecoder(strings.NewReader(out[i:])).Decode(&r); derr != nil {
		t.Fatalf("explain %v: decoding: %v (run error %v)\n%s", args, derr, err, out)
	}
	if r.OK != (err == nil) {
		t.Errorf("explain %v: ok=%v but exit error %v", args, r.OK, err)
	}
	return r, out
}

// stoppedAt checks that the walk stopped at step with a fault that says what.
func stoppedAt(t *testing.T, r explain.Result, step, what string) {
	t.Helper()
	if r.OK || len(r.Hops) == 0 {
		t.Fatalf("walk did not stop (ok=%v, %d hops), want a fault at %q", r.OK, len(r.Hops), step)
	}
	last := r.Hops[len(r.Hops)-1]
	if last.Step != step || last.Fault == nil || !strings.Contains(last.Fault.What, what) {
		t.Errorf("stopped at %q with %+v, want %q saying %q", last.Step, last.Fault, step, what)
	}
}

// TestExplain walks VXLAN CrossSubnet pairs (plain on the same subnet, VXLAN across the
// router) from live agents, checks each walk against a capture on the fabric, then injects
// faults (a blackhole, a lowered MTU, the source's agent stopped and its route deleted, the
// destination's agent stopped) and checks each is named at the hop where it is.
func TestExplain(t *testing.T) {
	certs, err := testbed.WriteCerts(t.TempDir(), "cluster")
	if err != nil {
		t.Fatal(err)
	}
	o := cluster.AgentOptions{NoBGP: true, Autodetect: "can-reach=" + subnetA.Addr().Next().String(),
		Extra: []string{"--status-listen", "0.0.0.0:9443", "--status-tls-cert", certs.Cert, "--status-tls-key", certs.Key, "--status-tls-ca", certs.CA}}
	c, cts := encapCluster(t, "Never", "CrossSubnet", o)
	c1, c2, c3 := cts[0], cts[2], cts[3]
	expectPlainRoute(t, c, "node1", c2, 80)
	expectTunnelRoute(t, c, "node1", c3, "vxlan.calico")
	expectTunnelRoute(t, c, "node3", c1, "vxlan.calico")

	t.Run("same subnet, no encapsulation", func(t *testing.T) {
		r, _ := explainJSON(t, c, "node1", c1.Name, c2.IP.String())
		if !r.OK || r.Encap != "none" {
			t.Fatalf("walk %s -> %s: ok=%v encap %s, want ok and none: %+v", c1, c2, r.OK, r.Encap, r.Hops)
		}
		expectWire(t, c, c1, c2, wirePlain)
	})
	t.Run("across the router, VXLAN", func(t *testing.T) {
		r, _ := explainJSON(t, c, "node1", c1.IP.String(), c3.Name)
		if !r.OK || r.Encap != "VXLAN" || r.Outer[0] != hostIP(c, "node1") || r.Outer[1] != hostIP(c, "node3") {
			t.Fatalf("walk %s -> %s: ok=%v encap %s outer %v: %+v", c1, c3, r.OK, r.Encap, r.Outer, r.Hops)
		}
		var fabric string
		for _, h := range r.Hops {
			if h.Step == "fabric" {
				fabric = strings.Join(h.Lines, "\n")
			}
		}
		if !strings.Contains(fabric, "through router") {
			t.Errorf("fabric hop does not go through the router:\n%s", fabric)
		}
		expectWire(t, c, c1, c3, wireVXLAN)
		out, err := c.Explain("node1", c1.Name, c3.Name)
		if err != nil {
			t.Fatal(err)
		}
		t.Log("\n" + out)
		for _, want := range []string{"default via 169.254.1.1 dev eth0", "host side: ", "dev vxlan.calico proto 80 onlink",
			"decapsulation: vxlan.calico", "reply: source node", "OK: "} {
			if !strings.Contains(out, want) {
				t.Errorf("text walk lacks %q", want)
			}
		}
	})
	t.Run("capture agrees with the walk", func(t *testing.T) {
		for _, pair := range [][2]*cluster.Container{{c1, c3}, {c1, c2}} {
			done := make(chan struct{})
			go func() {
				defer close(done)
				testbed.Ping(pair[0].NS, pair[1].IP, 30, time.Second)
			}()
			r, out := explainJSON(t, c, "node1", "--capture", "--capture-for", "2s", pair[0].Name, pair[1].Name)
			<-done
			if len(r.Captures) != 2 {
				t.Fatalf("%s -> %s: %d capture reports, want 2 (source and destination node)\n%s", pair[0], pair[1], len(r.Captures), out)
			}
			for _, cp := range r.Captures {
				if cp.Err != "" || cp.Forward == 0 || cp.Reply == 0 || cp.Unexpected != 0 {
					t.Errorf("%s -> %s (%s): capture on %s %s: %+v", pair[0], pair[1], r.Encap, cp.Node, cp.Dev, cp)
				}
			}
		}
	})
	t.Run("blackhole over the workload", func(t *testing.T) {
		// A foreign, more specific route brindle does not own and does not want: it stays,
		// and it swallows c3's packets on node1.
		dst := c3.IP.String() + "/32"
		if _, err := cluster.IP(c.Host("node1").Netns, "route", "add", "blackhole", dst, "proto", "static"); err != nil {
			t.Fatal(err)
		}
		defer cluster.IP(c.Host("node1").Netns, "route", "del", "blackhole", dst, "proto", "static")
		r, _ := explainJSON(t, c, "node1", c1.Name, c3.Name)
		stoppedAt(t, r, "source node", "the kernel drops packets to "+c3.IP.String()+": blackhole")
	})
	t.Run("MTU lowered on the uplink", func(t *testing.T) {
		n := c.Host("node1").Netns
		if _, err := cluster.IP(n, "link", "set", "eth0", "mtu", "1400"); err != nil {
			t.Fatal(err)
		}
		defer cluster.IP(n, "link", "set", "eth0", "mtu", "1500")
		r, _ := explainJSON(t, c, "node1", c1.Name, c3.Name)
		stoppedAt(t, r, "source node", "MTU mismatch: vxlan.calico 1450 plus the 50-byte header exceeds eth0's 1400")
		r, _ = explainJSON(t, c, "node1", c1.Name, c2.Name)
		stoppedAt(t, r, "source node", "MTU mismatch: the workload sends up to 1450 bytes but eth0 takes 1400")
	})
	t.Run("agents over TCP with mutual TLS", func(t *testing.T) {
		// From node1 with only the TLS material: node3's agent is reached at its datastore
		// address, not through its socket file.
		tlsArgs := func(f testbed.CertFiles) []string {
			return []string{"explain", "-o", "json", "--agent-port", "9443", "--agent-tls-cert", f.Cert, "--agent-tls-key", f.Key, "--agent-tls-ca", certs.CA}
		}
		out, err := c.ExplainOnly("node1", append(tlsArgs(certs), c1.Name, c3.Name)...)
		if err != nil || !strings.Contains(out, `"ok": true`) {
			t.Fatalf("explain over TCP: %v\n%s", err, out)
		}
		stranger, err := testbed.WriteCerts(t.TempDir(), "stranger")
		if err != nil {
			t.Fatal(err)
		}
		out, _ = c.ExplainOnly("node1", append(tlsArgs(stranger), c1.Name, c3.Name)...)
		if !strings.Contains(out, "the agent on node3 is not reachable (https://"+hostIP(c, "node3").String()+":9443") {
			t.Errorf("a client certificate of another CA was not refused:\n%s", out)
		}
	})
	t.Run("agent stopped, then a route deleted", func(t *testing.T) {
		// A running agent puts a deleted route of its own back within milliseconds; a
		// stopped one repairs nothing, and explain, without the kernel's answer, names the
		// route it cannot check and the command that shows it.
		if err := c.StopAgent("node1"); err != nil {
			t.Fatal(err)
		}
		n, blk := c.Host("node1").Netns, blockOf(t, c, c3)
		if out, err := cluster.IP(n, "route", "del", blk.String()); err != nil {
			t.Fatalf("deleting node1's route to %s: %v\n%s", blk, err, out)
		}
		r, out := explainJSON(t, c, "node1", c1.Name, c3.Name)
		t.Log("\n" + out)
		stoppedAt(t, r, "source node", "the agent on node1 is not reachable (")
		last := r.Hops[len(r.Hops)-1]
		if want := "so its route to " + c3.IP.String() + " (workload "; last.Fault == nil || !strings.Contains(last.Fault.What, want) {
			t.Errorf("the fault does not name the route it cannot check (%q): %+v", want, last.Fault)
		}
		get := "ip route get " + c3.IP.String() + " (on node1)"
		if last.Fault == nil || !strings.HasPrefix(last.Fault.Command, get) {
			t.Errorf("the fault does not give %q: %+v", get, last.Fault)
		}
		// The command it names shows the route missing.
		if got, err := cluster.IP(n, "route", "get", c3.IP.String()); err == nil && strings.Contains(got, "vxlan.calico") {
			t.Errorf("the deleted route is back without the agent: %s", got)
		}
		if _, err := c.StartAgent("node1", o); err != nil {
			t.Fatal(err)
		}
		expectTunnelRoute(t, c, "node1", c3, "vxlan.calico")
		if r, out := explainJSON(t, c, "node1", c1.Name, c3.Name); !r.OK {
			t.Errorf("the agent started again, the walk still stops:\n%s", out)
		}
	})
	t.Run("agent stopped", func(t *testing.T) {
		if err := c.StopAgent("node3"); err != nil {
			t.Fatal(err)
		}
		r, _ := explainJSON(t, c, "node1", c1.Name, c3.Name)
		stoppedAt(t, r, "destination node", "the agent on node3 is not reachable")
	})
}

// TestExplainBGP: no encapsulation, routes learned over the node-to-node mesh (proto bird,
// next hops resolved by the dataplane). Stopping the destination's agent takes its BGP
// session down while graceful restart keeps its routes: the walk names the session at the
// fabric hop, before it would reach the unreachable agent.
func TestExplainBGP(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1", "node2")
	c1, c2 := addContainer(t, c, "node1", "c1"), addContainer(t, c, "node2", "c2")
	waitPeers(t, c, "node1", peersOf(c, "node1", "node-to-node mesh", "node1", "node2"))
	expectPlainRoute(t, c, "node1", c2, 12)
	expectPlainRoute(t, c, "node2", c1, 12)

	r, out := explainJSON(t, c, "node1", c1.Name, c2.Name)
	if !r.OK || r.Encap != "none" {
		t.Fatalf("walk %s -> %s: ok=%v encap %s\n%s", c1, c2, r.OK, r.Encap, out)
	}
	text, err := c.Explain("node1", c1.Name, c2.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proto bird", "[owner: brindle, learned over BGP]", "BGP session with node2", "Established"} {
		if !strings.Contains(text, want) {
			t.Errorf("walk lacks %q:\n%s", want, text)
		}
	}
	expectWire(t, c, c1, c2, wirePlain)

	if err := c.StopAgent("node2"); err != nil {
		t.Fatal(err)
	}
	err = cluster.WaitFor(30*time.Second, "node1's session with node2 down", func() (bool, string) {
		out, _ := c.NodeStatus("node1")
		return !strings.Contains(out, "Established"), out
	})
	if err != nil {
		t.Fatal(err)
	}
	r, _ = explainJSON(t, c, "node1", c1.Name, c2.Name)
	stoppedAt(t, r, "fabric", "BGP session with node2 ("+hostIP(c, "node2").String()+") is down")
}
