package scenarios

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestVXLAN is the VXLAN mode of test/e2e on the 6.1 kernel: Calico's VXLAN backend (no BGP,
// routes from the datastore) with node1 and node2 on one subnet and node3 behind the router.
// With vxlanMode Always every host has vxlan.calico (VNI 4096, port 4789, MTU 1450, its
// tunnel address from its own block) and `<block> via <peer VTEP> dev vxlan.calico onlink`,
// and the containers' packets cross the fabric inside UDP 4789. Switched to CrossSubnet with
// `brindle apply`, node1 <-> node2 go plain and node3 stays on VXLAN.
func TestVXLAN(t *testing.T) {
	c := startCluster(t, twoSubnets())
	applyPool(t, c, "Never", "Always")
	startAgents(t, c, cluster.AgentOptions{NoBGP: true}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	c1, c2, c3 := cts[0], cts[1], cts[2]
	vtep := map[string]netip.Addr{}
	for _, h := range allNodes {
		vtep[h] = checkVXLANDevice(t, c, h)
		mtu, err := c.PodMTU(h)
		mustf(t, err, "pod MTU of %s", h)
		if mtu != 1450 {
			t.Errorf("%s: the agent wrote pod MTU %d, want 1450 (1500 - 50 for VXLAN)", h, mtu)
		}
	}
	viaVXLAN := func(peer string) func(cluster.Route, bool) bool {
		return func(r cluster.Route, ok bool) bool {
			return ok && r.Dev == "vxlan.calico" && r.Gw == vtep[peer] && r.OnLink
		}
	}
	t.Run("Always", func(t *testing.T) {
		for _, a := range cts {
			for _, b := range cts {
				if a != b {
					r := waitRoute(t, c, a.Host, blockOf(t, c, b), "VXLAN route to "+b.Host+"'s block", viaVXLAN(b.Host))
					t.Logf("%s: %s", a.Host, r)
				}
			}
		}
		matrix(t, cts)
		expectWire(t, c, c1, c2, wireVXLAN) // same subnet: still encapsulated
		expectWire(t, c, c1, c3, wireVXLAN)
	})
	t.Run("CrossSubnet", func(t *testing.T) {
		switchPool(t, c, "vxlanMode", "CrossSubnet")
		waitRoute(t, c, "node1", blockOf(t, c, c2), "plain route to node2's block", viaUplink(hostIP(c, "node2")))
		waitRoute(t, c, "node2", blockOf(t, c, c1), "plain route to node1's block", viaUplink(hostIP(c, "node1")))
		waitRoute(t, c, "node1", blockOf(t, c, c3), "VXLAN route to node3's block", viaVXLAN("node3"))
		waitRoute(t, c, "node3", blockOf(t, c, c2), "VXLAN route to node2's block", viaVXLAN("node2"))
		matrix(t, cts)
		expectWire(t, c, c1, c2, wirePlain)
		expectWire(t, c, c3, c1, wireVXLAN)
	})
}

// checkVXLANDevice wants vxlan.calico on host up with VNI 4096, port 4789, MTU 1450 and the
// node's ipv4VXLANTunnelAddr (from one of its blocks) as its only address; it returns that.
func checkVXLANDevice(t *testing.T, c *cluster.Cluster, host string) netip.Addr {
	t.Helper()
	h := c.Host(host)
	var tun netip.Addr
	err := cluster.WaitFor(30*time.Second, host+": VXLAN tunnel address in the Node resource", func() (bool, string) {
		out, err := c.Ctl(nil, "get", "node", host, "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		var n struct {
			Spec struct {
				VXLAN string `json:"ipv4VXLANTunnelAddr"`
			} `json:"spec"`
		}
		if err := json.Unmarshal([]byte(out), &n); err != nil {
			return false, err.Error()
		}
		tun, err = netip.ParseAddr(n.Spec.VXLAN)
		return err == nil, out
	})
	mustf(t, err, "%s", host)
	err = cluster.WaitFor(30*time.Second, host+": vxlan.calico programmed", func() (bool, string) {
		l, err := h.NL.LinkByName("vxlan.calico")
		if err != nil {
			return false, err.Error()
		}
		vx, ok := l.(*netlink.Vxlan)
		if !ok {
			return false, "vxlan.calico is a " + l.Type()
		}
		as, err := h.NL.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			return false, err.Error()
		}
		var addrs []string
		for _, a := range as {
			addrs = append(addrs, a.IPNet.String())
		}
		up := l.Attrs().Flags&(1<<0) != 0
		got := fmt.Sprintf("up %v vni %d port %d mtu %d addrs %v", up, vx.VxlanId, vx.Port, l.Attrs().MTU, addrs)
		return up && vx.VxlanId == 4096 && vx.Port == 4789 && l.Attrs().MTU == 1450 &&
			len(addrs) == 1 && addrs[0] == tun.String()+"/32", got + ", want up, vni 4096, port 4789, mtu 1450, " + tun.String() + "/32"
	})
	mustf(t, err, "%s", host)
	blk, err := cluster.BlockOf(h, tun)
	mustf(t, err, "VXLAN tunnel address %s of %s", tun, host)
	t.Logf("%s: vxlan.calico up, mtu 1450, %s/32 from its block %s", host, tun, blk)
	return tun
}
