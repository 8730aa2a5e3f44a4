package e2e

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// encapCluster is the two-subnet bed with the seed's pool in the given modes, agents on the
// three nodes and a container on each (two on node1, to cover a same-host pair).
func encapCluster(t *testing.T, ipip, vxlan string, o cluster.AgentOptions) (*cluster.Cluster, []*cluster.Container) {
	c := startCluster(t, twoSubnets())
	applyPool(t, c, ipip, vxlan)
	startAgents(t, c, o, "node1", "node2", "node3")
	cts := []*cluster.Container{
		addContainer(t, c, "node1", "c1a"), addContainer(t, c, "node1", "c1b"),
		addContainer(t, c, "node2", "c2"), addContainer(t, c, "node3", "c3"),
	}
	return c, cts
}

// tunnelAddr is the IPv4 address on a host's tunnel device.
func tunnelAddr(t *testing.T, c *cluster.Cluster, host, dev string) netip.Addr {
	t.Helper()
	h := c.Host(host)
	l, err := h.NL.LinkByName(dev)
	if err != nil {
		t.Fatalf("%s on %s: %v", dev, host, err)
	}
	addrs, err := h.NL.AddrList(l, netlink.FAMILY_V4)
	if err != nil || len(addrs) == 0 {
		t.Fatalf("%s on %s has no IPv4 address (err %v)", dev, host, err)
	}
	a, _ := netip.AddrFromSlice(addrs[0].IP)
	return a.Unmap()
}

// expectTunnelRoute waits for from's route to the block of ct through the peer's tunnel.
func expectTunnelRoute(t *testing.T, c *cluster.Cluster, from string, ct *cluster.Container, dev string) {
	t.Helper()
	gw := hostIP(c, ct.Host)
	if dev == "vxlan.calico" {
		gw = tunnelAddr(t, c, ct.Host, dev)
	}
	waitRoute(t, c, from, blockOf(t, c, ct), fmt.Sprintf("route via %s dev %s onlink", gw, dev),
		func(r cluster.Route, ok bool) bool { return ok && r.Dev == dev && r.Gw == gw && r.OnLink })
}

// expectPlainRoute waits for from's route to the block of ct straight via the peer's address.
func expectPlainRoute(t *testing.T, c *cluster.Cluster, from string, ct *cluster.Container, proto int) {
	t.Helper()
	gw := hostIP(c, ct.Host)
	waitRoute(t, c, from, blockOf(t, c, ct), fmt.Sprintf("route via %s dev eth0 proto %d", gw, proto),
		func(r cluster.Route, ok bool) bool { return ok && r.Dev == "eth0" && r.Gw == gw && r.Proto == proto })
}

// TestVXLANAlways runs `brindle felix` (dataplane only): VXLAN routes come from the
// datastore, so no BGP is needed to connect the cluster.
func TestVXLANAlways(t *testing.T) {
	c, cts := encapCluster(t, "Never", "Always", cluster.AgentOptions{Felix: true})
	c1, c2, c3 := cts[0], cts[2], cts[3]
	expectTunnelRoute(t, c, "node1", c2, "vxlan.calico")
	expectTunnelRoute(t, c, "node1", c3, "vxlan.calico")
	expectTunnelRoute(t, c, "node3", c1, "vxlan.calico")
	matrix(t, cts)
	expectWire(t, c, c1, c2, wireVXLAN) // same subnet: still encapsulated
	expectWire(t, c, c1, c3, wireVXLAN) // across the router
	mtu := podMTU(t, c, "node1", 1500-50)
	if err := cluster.PMTU(c1, c3, mtu); err != nil {
		t.Error(err)
	}
}

// TestVXLANCrossSubnet lets the agents find their addresses with Calico's can-reach
// autodetection: CrossSubnet depends on the detected prefix length being right.
func TestVXLANCrossSubnet(t *testing.T) {
	o := cluster.AgentOptions{NoBGP: true, Autodetect: "can-reach=" + subnetA.Addr().Next().String()}
	c, cts := encapCluster(t, "Never", "CrossSubnet", o)
	c1, c2, c3 := cts[0], cts[2], cts[3]
	expectPlainRoute(t, c, "node1", c2, 80)
	expectTunnelRoute(t, c, "node1", c3, "vxlan.calico")
	expectTunnelRoute(t, c, "node3", c2, "vxlan.calico")
	matrix(t, cts)
	expectWire(t, c, c1, c2, wirePlain)
	expectWire(t, c, c2, c3, wireVXLAN)
	expectWire(t, c, c3, c1, wireVXLAN)
	mtu := podMTU(t, c, "node1", 1500-50)
	for _, pair := range [][2]*cluster.Container{{c1, c2}, {c1, c3}} {
		if err := cluster.PMTU(pair[0], pair[1], mtu); err != nil {
			t.Error(err)
		}
	}
}

// TestIPIPAlways runs only where the kernel has IPIP; this machine's does not, and the VM
// suite (make test-vm) covers IPIP on Debian's stock kernel.
func TestIPIPAlways(t *testing.T) {
	testbed.RequireRoot(t)
	if err := cluster.IPIPSupported(); err != nil {
		t.Skipf("kernel has no IPIP support (%v): IPIP scenarios run in the VM suite, make test-vm", err)
	}
	c, cts := encapCluster(t, "Always", "Never", cluster.AgentOptions{})
	c1, c2, c3 := cts[0], cts[2], cts[3]
	expectTunnelRoute(t, c, "node1", c2, "tunl0")
	expectTunnelRoute(t, c, "node1", c3, "tunl0")
	matrix(t, cts)
	expectWire(t, c, c1, c3, wireIPIP)
	if err := cluster.PMTU(c1, c3, podMTU(t, c, "node1", 1500-20)); err != nil {
		t.Error(err)
	}
}

// podMTU reads the MTU the agent wrote for the CNI plugin and checks it is the expected one.
func podMTU(t *testing.T, c *cluster.Cluster, host string, want int) int {
	t.Helper()
	mtu, err := c.PodMTU(host)
	if err != nil {
		t.Fatal(err)
	}
	if mtu != want {
		t.Errorf("%s: agent wrote pod MTU %d, want %d", host, mtu, want)
	}
	return mtu
}
