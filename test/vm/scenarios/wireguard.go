package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// wgPort is felix's default wireguardListeningPort.
const wgPort = 51820

// setWireguard turns WireGuard on or off the way the README shows it.
func setWireguard(t *testing.T, c *cluster.Cluster, on bool) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"wireguardEnabled":%v}}`, on)
	if _, err := c.Ctl(nil, "get", "felixconfiguration", "default"); err != nil {
		mustf(t, c.Apply("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  wireguardEnabled: "+fmt.Sprint(on)+"\n"), "creating felixconfiguration default")
		return
	}
	out, err := c.Ctl(nil, "patch", "felixconfiguration", "default", "--patch", patch)
	mustf(t, err, "brindle patch felixconfiguration default: %s", out)
}

// wgNode is what the datastore says about one node's WireGuard.
type wgNode struct {
	key, addr string
}

func nodeWireguard(c *cluster.Cluster, host string) (wgNode, error) { return nodeWG(c, host, false) }

// nodeWireguardV6 is the IPv6 device's part of the Node.
func nodeWireguardV6(c *cluster.Cluster, host string) (wgNode, error) { return nodeWG(c, host, true) }

func nodeWG(c *cluster.Cluster, host string, v6 bool) (wgNode, error) {
	out, err := c.Ctl(nil, "get", "node", host, "-o", "json")
	if err != nil {
		return wgNode{}, err
	}
	var n struct {
		Spec struct {
			Wireguard *struct {
				Addr  string `json:"interfaceIPv4Address"`
				Addr6 string `json:"interfaceIPv6Address"`
			} `json:"wireguard"`
		} `json:"spec"`
		Status struct {
			Key  string `json:"wireguardPublicKey"`
			Key6 string `json:"wireguardPublicKeyV6"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		return wgNode{}, fmt.Errorf("%v: %s", err, out)
	}
	w := wgNode{key: n.Status.Key}
	if v6 {
		w.key = n.Status.Key6
	}
	if n.Spec.Wireguard != nil {
		w.addr = n.Spec.Wireguard.Addr
		if v6 {
			w.addr = n.Spec.Wireguard.Addr6
		}
	}
	return w, nil
}

// wgStatus is `brindle node status -o json`'s WireGuard part on host.
func wgStatus(c *cluster.Cluster, host string) (*bgpstatus.WireGuardStatus, error) {
	r, err := wgReply(c, host)
	if err != nil {
		return nil, err
	}
	return r.WireGuard, nil
}

// wgStatusV6 is its IPv6 device's part.
func wgStatusV6(c *cluster.Cluster, host string) (*bgpstatus.WireGuardStatus, error) {
	r, err := wgReply(c, host)
	if err != nil {
		return nil, err
	}
	return r.WireGuardV6, nil
}

func wgReply(c *cluster.Cluster, host string) (*bgpstatus.Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := c.Host(host).Run(ctx, testbed.RunOptions{Path: c.Bin, Args: []string{"node", "status", "-o", "json"},
		Env: []string{"BRINDLE_STATE_DIR=" + c.StateDir(host)}})
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	var r bgpstatus.Reply
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	return &r, nil
}

// wgMatches compares host's device (read back by the agent, `wg show`) with the datastore:
// its own key and address, and one peer per other node with that node's published key,
// endpoint <node address>:51820 and allowed IPs covering the node's blocks and device
// address. It returns "" when they agree, else what differs.
func wgMatches(c *cluster.Cluster, host string, nodes map[string]wgNode, blocks map[string][]netip.Prefix) string {
	st, err := wgStatus(c, host)
	switch {
	case err != nil:
		return err.Error()
	case st == nil || !st.Running || st.Device == nil:
		return fmt.Sprintf("WireGuard not running: %+v", st)
	case st.PublicKey != nodes[host].key || st.Device.PublicKey != nodes[host].key:
		return fmt.Sprintf("device key %s, status %s, datastore %s", st.Device.PublicKey, st.PublicKey, nodes[host].key)
	case st.Address == "" || st.Address != nodes[host].addr:
		return fmt.Sprintf("device address %q, datastore %q", st.Address, nodes[host].addr)
	case st.Device.ListenPort != wgPort || st.Device.FirewallMark != 0x200000:
		return fmt.Sprintf("port %d fwmark %#x, want %d 0x200000", st.Device.ListenPort, st.Device.FirewallMark, wgPort)
	}
	peers := map[string]bgpstatus.WireGuardPeer{}
	for _, p := range st.Device.Peers {
		peers[p.PublicKey] = p
	}
	if len(peers) != len(nodes)-1 {
		return fmt.Sprintf("%d peers, want %d: %+v", len(peers), len(nodes)-1, st.Device.Peers)
	}
	for n, w := range nodes {
		if n == host {
			continue
		}
		p, ok := peers[w.key]
		if !ok {
			return fmt.Sprintf("no peer with %s's key %s", n, w.key)
		}
		if want := net.JoinHostPort(hostIP(c, n).String(), fmt.Sprint(wgPort)); p.Endpoint != want {
			return fmt.Sprintf("peer %s endpoint %s, want %s", n, p.Endpoint, want)
		}
		want := []string{w.addr + "/32"}
		for _, b := range blocks[n] {
			want = append(want, b.String())
		}
		for _, a := range want {
			if !slices.Contains(p.AllowedIPs, a) {
				return fmt.Sprintf("peer %s allowed IPs %v lack %s", n, p.AllowedIPs, a)
			}
		}
	}
	return ""
}

// wgWire captures on a's fabric port while a exchanges UDP echoes and pings with each of
// peers, and counts the pod packets by how they crossed: "wireguard" (UDP 51820 between the
// two host addresses), "plain", "ipip" or "vxlan".
func wgWire(t *testing.T, c *cluster.Cluster, a *cluster.Container, peers ...*cluster.Container) map[string]int {
	t.Helper()
	capt, err := c.Bed.Fabric.Capture(c.HostPort(a.Host))
	mustf(t, err, "capture on %s's fabric port", a.Host)
	defer capt.Stop()
	for _, b := range peers {
		stop, err := testbed.ServeUDPEcho(b.NS, netip.AddrPortFrom(b.IP, 7777))
		mustf(t, err, "UDP echo in %s", b)
		if got, err := testbed.UDPEchoes(a.NS, netip.AddrPortFrom(b.IP, 7777), 4, 2*time.Second); err != nil || got != 4 {
			t.Errorf("UDP %s -> %s: %d/4 echoes (err %v)", a, b, got, err)
		}
		stop()
		if got, err := testbed.Ping(a.NS, b.IP, 2, time.Second); err != nil || got != 2 {
			t.Errorf("ping %s -> %s: %d/2 (err %v)", a, b, got, err)
		}
	}
	pkts := capt.Stop()
	kinds := map[string]int{}
	hosts := map[netip.Addr]bool{}
	pods := map[netip.Addr]bool{a.IP: true}
	for _, ct := range append([]*cluster.Container{a}, peers...) {
		hosts[hostIP(c, ct.Host)], pods[ct.IP] = true, true
	}
	for _, p := range pkts {
		switch {
		case pods[p.Outer.Src] || pods[p.Outer.Dst]:
			kinds["plain"]++
		case p.Outer.Proto == 4 && hosts[p.Outer.Src] && hosts[p.Outer.Dst]:
			kinds["ipip"]++
		case p.VXLAN:
			kinds["vxlan"]++
		case p.Outer.Proto == 17 && hosts[p.Outer.Src] && hosts[p.Outer.Dst] && (p.SrcPort == wgPort && p.DstPort == wgPort):
			kinds["wireguard"]++
		}
	}
	t.Logf("fabric port of %s while %s talks to %d peers: %v (of %d packets)", a.Host, a, len(peers), kinds, len(pkts))
	return kinds
}

// tcpThroughput sends from a to b over TCP for d and returns bits per second received.
// Both ends run in this process, each socket made inside its container's namespace.
func tcpThroughput(t *testing.T, a, b *cluster.Container, d time.Duration) float64 {
	t.Helper()
	var ln net.Listener
	mustf(t, b.NS.Do(func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(b.IP, 5201).String())
		return err
	}), "listen in %s", b)
	defer ln.Close()
	type result struct {
		n   int64
		dur time.Duration
		err error
	}
	res := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			res <- result{err: err}
			return
		}
		defer conn.Close()
		t0 := time.Now()
		n, err := io.Copy(io.Discard, conn)
		res <- result{n: n, dur: time.Since(t0), err: err}
	}()
	var conn net.Conn
	mustf(t, a.NS.Do(func() (err error) {
		conn, err = net.DialTimeout("tcp4", netip.AddrPortFrom(b.IP, 5201).String(), 5*time.Second)
		return err
	}), "connect %s -> %s", a, b)
	buf := make([]byte, 64<<10)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		_ = conn.SetWriteDeadline(end)
		if _, err := conn.Write(buf); err != nil {
			break
		}
	}
	conn.Close()
	r := <-res
	if r.err != nil || r.dur <= 0 {
		t.Errorf("throughput %s -> %s: %v", a, b, r.err)
		return 0
	}
	return float64(r.n) * 8 / r.dur.Seconds()
}

// sortedKeys lists a map's keys in order (stable log lines).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mbps(bps float64) string { return fmt.Sprintf("%.1fMbit/s", bps/1e6) }
