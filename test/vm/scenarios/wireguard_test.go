package scenarios

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestWireGuard is issue #17 on Debian's kernel, one cluster for every step: the pool uses
// IPIP Always (BGP mesh), node3 is behind the router. With `wireguardEnabled: true` every node
// makes wireguard.cali, publishes its key and device address, and pod traffic crosses the
// fabric only as UDP 51820 between host addresses; the device state (`wg show`, read back by
// the agent) matches the datastore; a key rotation (delete the key file, restart) keeps the
// matrix passing; TCP throughput is measured plain then encrypted; turning WireGuard off under
// pings returns to IPIP losing at most one ping (one second).
func TestWireGuard(t *testing.T) {
	c := startCluster(t, twoSubnets())
	applyPool(t, c, "Always", "Never")
	startAgents(t, c, cluster.AgentOptions{}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	c1, c2, c3 := cts[0], cts[1], cts[2]
	waitRoute(t, c, "node1", blockOf(t, c, c2), "IPIP route to node2's block", viaTunl0(hostIP(c, "node2")))
	waitRoute(t, c, "node1", blockOf(t, c, c3), "IPIP route to node3's block", viaTunl0(hostIP(c, "node3")))
	matrix(t, cts)
	plain := tcpThroughput(t, c1, c2, 3*time.Second)

	blocks := map[string][]netip.Prefix{}
	for _, ct := range cts {
		blocks[ct.Host] = append(blocks[ct.Host], blockOf(t, c, ct))
	}
	nodes := map[string]wgNode{}
	waitWG := func(what string, until func(map[string]wgNode) bool) {
		t.Helper()
		t0 := time.Now()
		err := cluster.WaitFor(120*time.Second, what, func() (bool, string) {
			for _, h := range allNodes {
				w, err := nodeWireguard(c, h)
				if err != nil {
					return false, err.Error()
				}
				nodes[h] = w
			}
			if !until(nodes) {
				return false, "datastore: " + nodesLine(nodes)
			}
			for _, h := range allNodes {
				if diff := wgMatches(c, h, nodes, blocks); diff != "" {
					return false, h + ": " + diff
				}
			}
			return true, ""
		})
		mustf(t, err, "%s", what)
		t.Logf("%s after %.1fs: %s", what, time.Since(t0).Seconds(), nodesLine(nodes))
	}

	t.Run("enable", func(t *testing.T) {
		setWireguard(t, c, true)
		waitWG("every node's device matches the datastore", func(m map[string]wgNode) bool {
			for _, w := range m {
				if w.key == "" || w.addr == "" {
					return false
				}
			}
			return true
		})
		for _, h := range allNodes {
			mtu, err := c.PodMTU(h)
			mustf(t, err, "pod MTU of %s", h)
			if mtu != 1440 {
				t.Errorf("%s: pod MTU %d, want 1440 (1500 - 60 for WireGuard)", h, mtu)
			}
			fi, err := os.Stat(filepath.Join(c.StateDir(h), "wireguard-private-key"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: key file %v (err %v), want mode 0600", h, fi, err)
			}
		}
		matrix(t, cts)
		kinds := wgWire(t, c, c1, c2, c3)
		if kinds["wireguard"] < 24 || kinds["plain"]+kinds["ipip"]+kinds["vxlan"] > 0 {
			t.Errorf("fabric: %v, want only WireGuard (>= 24 packets: 4 echoes and 2 pings each way to two peers)", kinds)
		}
		if out, err := c.NodeStatus("node1"); err == nil {
			t.Logf("node1 `brindle node status`:\n%s", out)
		}
	})
	t.Run("throughput", func(t *testing.T) {
		wg := tcpThroughput(t, c1, c2, 3*time.Second)
		ratio := 0.0
		if plain > 0 {
			ratio = wg / plain
		}
		t.Logf("WG-THROUGHPUT plain=%s wg=%s ratio=%.2f (c1 -> c2, TCP 3 s each, plain = IPIP before WireGuard, same run, TCG)",
			mbps(plain), mbps(wg), ratio)
	})
	t.Run("rotate", func(t *testing.T) {
		old := nodes["node2"].key
		opts := c.Agent("node2").Opts
		mustf(t, c.StopAgent("node2"), "stopping node2's agent")
		mustf(t, os.Remove(filepath.Join(c.StateDir("node2"), "wireguard-private-key")), "deleting node2's key")
		a, err := c.StartAgent("node2", opts)
		if err != nil && a != nil && a.Proc != nil && a.Proc.Running() {
			err = a.WaitReady(2 * time.Minute)
		}
		mustf(t, err, "restarting node2's agent")
		followed(t, c, old)
		waitWG("node2's new key everywhere", func(m map[string]wgNode) bool { return m["node2"].key != old && m["node2"].key != "" })
		matrix(t, cts)
		if kinds := wgWire(t, c, c1, c2); kinds["wireguard"] < 12 || kinds["plain"]+kinds["ipip"] > 0 {
			t.Errorf("fabric after the rotation: %v, want only WireGuard", kinds)
		}
	})
	t.Run("disable", func(t *testing.T) {
		same, across := cluster.StartPinger(c1, c2), cluster.StartPinger(c1, c3)
		time.Sleep(time.Second)
		setWireguard(t, c, false)
		t0 := time.Now()
		err := cluster.WaitFor(30*time.Second, "wireguard.cali gone everywhere", func() (bool, string) {
			for _, h := range allNodes {
				if _, err := c.Host(h).NL.LinkByName("wireguard.cali"); err == nil {
					return false, h + " still has wireguard.cali"
				}
			}
			return true, ""
		})
		mustf(t, err, "disabling")
		t.Logf("WireGuard removed on every node %.1fs after the patch", time.Since(t0).Seconds())
		time.Sleep(time.Second)
		for _, p := range []struct {
			name string
			p    *cluster.Pinger
		}{{"c1 -> c2", same}, {"c1 -> c3 (across the router)", across}} {
			sent, got := p.p.Stop()
			t.Logf("%s while WireGuard was turned off: %d/%d replies", p.name, got, sent)
			if sent < 5 || sent-got > 1 {
				t.Errorf("%s: %d of %d pings lost (each lost ping is a second), want at most 1", p.name, sent-got, sent)
			}
		}
		expectWire(t, c, c1, c2, wireIPIP)
		expectWire(t, c, c1, c3, wireIPIP)
		matrix(t, cts)
		for _, h := range allNodes {
			if w, err := nodeWireguard(c, h); err != nil || w.key != "" || w.addr != "" {
				t.Errorf("%s still publishes WireGuard after it was turned off: %+v (err %v)", h, w, err)
			}
		}
	})
}

func nodesLine(m map[string]wgNode) string {
	s := ""
	for _, h := range sortedKeys(m) {
		s += h + "{key " + short(m[h].key) + " addr " + m[h].addr + "} "
	}
	return s
}

func short(k string) string {
	if len(k) > 8 {
		return k[:8] + "…"
	}
	return k
}

// followed logs how long node1 and node3 took to put node2's new key on their devices after
// it appeared in the datastore (the issue asks for about a second; logged, not asserted).
func followed(t *testing.T, c *cluster.Cluster, old string) {
	t.Helper()
	var key string
	err := cluster.WaitFor(60*time.Second, "node2's new key in the datastore", func() (bool, string) {
		w, err := nodeWireguard(c, "node2")
		key = w.key
		return err == nil && key != "" && key != old, key
	})
	mustf(t, err, "rotation")
	t0 := time.Now()
	for _, h := range []string{"node1", "node3"} {
		err := cluster.WaitFor(30*time.Second, h+" has node2's new key", func() (bool, string) {
			st, err := wgStatus(c, h)
			if err != nil || st == nil || st.Device == nil {
				return false, fmt.Sprint(st, err)
			}
			for _, p := range st.Device.Peers {
				if p.PublicKey == key {
					return true, ""
				}
			}
			return false, "not yet"
		})
		mustf(t, err, "rotation")
		t.Logf("%s's device holds node2's new key %.2fs after it was seen in the datastore (polling through `brindle node status`)", h, time.Since(t0).Seconds())
	}
}
