package scenarios

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

const wgPortV6 = 51821 // felix's default wireguardListeningPortV6

// TestWireGuardV6 is issue #17's IPv6 form on Debian's kernel: an IPv6-only pool without
// encapsulation, three nodes on one subnet with IPv6 host addresses. With
// `wireguardEnabledV6: true` every node makes wg-v6.cali, publishes
// status.wireguardPublicKeyV6 and spec.wireguard.interfaceIPv6Address, its peers are the
// other nodes at [<host IPv6>]:51821, the pod MTU is 1420, and IPv6 pod pings cross the
// fabric only as UDP 51821 between the hosts' IPv6 addresses.
func TestWireGuardV6(t *testing.T) {
	RequireVM(t)
	bed := oneSubnet()
	bed.Subnets6 = []netip.Prefix{netip.MustParsePrefix("fd00:30:1::/64"), netip.MustParsePrefix("fd00:30:2::/64")}
	c, err := cluster.Start(cluster.Options{Bed: bed, Binary: BrindleBin(t), WorkDir: t.TempDir(), IPv6: true, NoIPv4: true})
	mustf(t, err, "starting the cluster")
	c.CloseWhenDone(t, 60)
	mustf(t, c.Apply(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: default-ipv6-ippool
spec:
  cidr: fd00:244::/112
  blockSize: 122
  ipipMode: Never
  vxlanMode: Never
  nodeSelector: all()
`), "IPv6 pool")
	startAgents(t, c, cluster.AgentOptions{NoBGP: true, IP6: true}, allNodes...)
	cts := addContainers(t, c, allNodes...)
	matrix6 := func() {
		t.Helper()
		mustf(t, cluster.WaitMatrixFamily(cts, 30*time.Second, false), "IPv6 matrix")
		if failed := cluster.PingMatrixFamily(cts, 2, false); len(failed) > 0 {
			t.Errorf("IPv6 ping matrix: %v", failed)
		}
	}
	matrix6()
	mustf(t, c.Apply("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  wireguardEnabledV6: true\n"),
		"wireguardEnabledV6")
	t0 := time.Now()
	err = cluster.WaitFor(120*time.Second, "every node's IPv6 device matches the datastore", func() (bool, string) {
		keys := map[string]string{}
		for _, h := range allNodes {
			n, err := nodeWireguardV6(c, h)
			if err != nil || n.key == "" || n.addr == "" {
				return false, fmt.Sprintf("%s: %+v %v", h, n, err)
			}
			keys[h] = n.key
		}
		for _, h := range allNodes {
			st, err := wgStatusV6(c, h)
			if err != nil || st == nil || !st.Running || st.Device == nil {
				return false, fmt.Sprintf("%s: %+v %v", h, st, err)
			}
			if st.Device.ListenPort != wgPortV6 || st.Device.PublicKey != keys[h] || len(st.Device.Peers) != 2 {
				return false, fmt.Sprintf("%s: device %+v", h, st.Device)
			}
			for _, p := range st.Device.Peers {
				ok := false
				for _, o := range allNodes {
					ok = ok || (o != h && p.PublicKey == keys[o] && p.Endpoint == net.JoinHostPort(c.Host(o).Addr6.Addr().String(), fmt.Sprint(wgPortV6)))
				}
				if !ok {
					return false, fmt.Sprintf("%s: peer %+v", h, p)
				}
			}
		}
		return true, ""
	})
	mustf(t, err, "enabling IPv6 WireGuard")
	t.Logf("IPv6 WireGuard running everywhere %.1fs after the patch", time.Since(t0).Seconds())
	for _, h := range allNodes {
		if mtu, err := c.PodMTU(h); err != nil || mtu != 1420 {
			t.Errorf("%s: pod MTU %d (err %v), want 1420 (1500 - 80 for IPv6 WireGuard)", h, mtu, err)
		}
	}
	matrix6()
	c1 := cts[0]
	capt, err := c.Bed.Fabric.Capture(c.HostPort(c1.Host))
	mustf(t, err, "capture")
	for _, b := range cts[1:] {
		if got, err := testbed.Ping(c1.NS, b.IP6, 3, time.Second); err != nil || got != 3 {
			t.Errorf("ping %s -> %s: %d/3 (err %v)", c1, b.IP6, got, err)
		}
	}
	pkts := capt.Stop()
	hosts, pods := map[netip.Addr]bool{}, map[netip.Addr]bool{}
	for _, ct := range cts {
		hosts[c.Host(ct.Host).Addr6.Addr()], pods[ct.IP6] = true, true
	}
	kinds := map[string]int{}
	for _, p := range pkts {
		switch {
		case pods[p.Outer.Src] || pods[p.Outer.Dst]:
			kinds["plain"]++
		case p.Outer.Proto == 17 && hosts[p.Outer.Src] && hosts[p.Outer.Dst] && p.SrcPort == wgPortV6 && p.DstPort == wgPortV6:
			kinds["wireguard"]++
		}
	}
	t.Logf("fabric port of %s while %s pings two peers over IPv6: %v (of %d packets)", c1.Host, c1, kinds, len(pkts))
	if kinds["wireguard"] < 12 || kinds["plain"] > 0 {
		t.Errorf("fabric: %v, want only WireGuard over IPv6 (>= 12 packets: 3 pings each way to two peers)", kinds)
	}
	if out, err := c.NodeStatus("node1"); err == nil {
		t.Logf("node1 `brindle node status`:\n%s", out)
	}
}
