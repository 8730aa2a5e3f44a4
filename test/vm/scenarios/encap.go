package scenarios

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// Wire kinds a container-to-container packet can take on the fabric.
const (
	wireIPIP  = "ipip"  // IP protocol 4, outer host addresses, inner container addresses
	wireVXLAN = "vxlan" // UDP 4789, outer host addresses, inner container addresses
	wirePlain = "plain" // the container packet itself
)

// wireKind classifies p as a packet between containers a and b (either direction) and says
// which way it was carried; "" if it is not one of theirs.
func wireKind(p testbed.Packet, c *cluster.Cluster, a, b *cluster.Container) string {
	hostA, hostB := hostIP(c, a.Host), hostIP(c, b.Host)
	pair := func(s, d, x, y netip.Addr) bool { return (s == x && d == y) || (s == y && d == x) }
	switch {
	case p.Inner != nil && pair(p.Outer.Src, p.Outer.Dst, hostA, hostB) && pair(p.Inner.Src, p.Inner.Dst, a.IP, b.IP):
		if p.VXLAN {
			return wireVXLAN
		}
		if p.Outer.Proto == 4 {
			return wireIPIP
		}
	case pair(p.Outer.Src, p.Outer.Dst, a.IP, b.IP):
		return wirePlain
	}
	return ""
}

// wireCheck sends traffic from a to b (UDP echoes, both directions therefore) while capturing
// on a's fabric port, and returns how many packets of each kind the capture saw.
func wireCheck(t *testing.T, c *cluster.Cluster, a, b *cluster.Container) map[string]int {
	t.Helper()
	capt, err := c.Bed.Fabric.Capture(c.HostPort(a.Host))
	mustf(t, err, "capture on %s's fabric port", a.Host)
	defer capt.Stop()
	stop, err := testbed.ServeUDPEcho(b.NS, netip.AddrPortFrom(b.IP, 7777))
	mustf(t, err, "UDP echo in %s", b)
	defer stop()
	got, err := testbed.UDPEchoes(a.NS, netip.AddrPortFrom(b.IP, 7777), 4, 2*time.Second)
	if err != nil || got != 4 {
		t.Errorf("UDP %s -> %s: %d/4 echoes (err %v)", a, b, got, err)
	}
	pkts := capt.Stop()
	kinds := map[string]int{}
	for _, p := range pkts {
		if k := wireKind(p, c, a, b); k != "" {
			kinds[k]++
		}
	}
	t.Logf("fabric port of %s, %s <-> %s: %v (of %d packets)", a.Host, a, b, kinds, len(pkts))
	return kinds
}

// expectWire wants at least 8 packets (4 requests, 4 replies) of kind and none of any other.
func expectWire(t *testing.T, c *cluster.Cluster, a, b *cluster.Container, kind string) {
	t.Helper()
	kinds := wireCheck(t, c, a, b)
	for k, n := range kinds {
		if k != kind && n > 0 {
			t.Errorf("%s -> %s: %d %s packets on the fabric, want only %s", a, b, n, k, kind)
		}
	}
	if kinds[kind] < 8 {
		t.Errorf("%s -> %s: %d %s packets on the fabric, want >= 8 (4 echoes each way)", a, b, kinds[kind], kind)
	}
}

// nodeTunnelAddr reads the Node resource's spec.bgp.ipv4IPIPTunnelAddr.
func nodeTunnelAddr(t *testing.T, c *cluster.Cluster, host string) netip.Addr {
	t.Helper()
	out, err := c.Ctl(nil, "get", "node", host, "-o", "json")
	mustf(t, err, "get node %s", host)
	var n struct {
		Spec struct {
			BGP *struct {
				IPv4IPIPTunnelAddr string `json:"ipv4IPIPTunnelAddr"`
			} `json:"bgp"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		t.Fatalf("get node %s -o json: %v: %s", host, err, out)
	}
	if n.Spec.BGP == nil || n.Spec.BGP.IPv4IPIPTunnelAddr == "" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(n.Spec.BGP.IPv4IPIPTunnelAddr)
	mustf(t, err, "node %s ipv4IPIPTunnelAddr", host)
	return a
}

// checkTunl0 wants the host's tunl0 to be an up ipip device with MTU mtu whose only IPv4
// address is the node's ipv4IPIPTunnelAddr, from one of the host's own blocks.
func checkTunl0(t *testing.T, c *cluster.Cluster, host string, mtu int) {
	t.Helper()
	h := c.Host(host)
	var tun netip.Addr
	err := cluster.WaitFor(30*time.Second, host+": tunnel address in the Node resource", func() (bool, string) {
		tun = nodeTunnelAddr(t, c, host)
		return tun.IsValid(), "no ipv4IPIPTunnelAddr yet"
	})
	mustf(t, err, "%s", host)
	err = cluster.WaitFor(30*time.Second, host+": tunl0 programmed", func() (bool, string) {
		d, err := tunl0State(h)
		if err != nil {
			return false, err.Error()
		}
		ok := d.ipip && d.up && d.mtu == mtu && len(d.addrs) == 1 && d.addrs[0] == netip.PrefixFrom(tun, 32)
		return ok, fmt.Sprintf("tunl0 %+v, want ipip, up, mtu %d, address %s/32", d, mtu, tun)
	})
	mustf(t, err, "%s", host)
	blk, err := cluster.BlockOf(h, tun)
	mustf(t, err, "tunnel address %s of %s", tun, host)
	t.Logf("%s: tunl0 up, mtu %d, %s/32 from its block %s", host, mtu, tun, blk)
}

type tunl0Info struct {
	ipip, up bool
	mtu      int
	addrs    []netip.Prefix
}

func tunl0State(h *testbed.Host) (tunl0Info, error) {
	var d tunl0Info
	l, err := h.NL.LinkByName("tunl0")
	if err != nil {
		return d, err
	}
	_, d.ipip = l.(*netlink.Iptun)
	d.up = l.Attrs().Flags&(1<<0) != 0 // net.FlagUp
	d.mtu = l.Attrs().MTU
	as, err := h.NL.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return d, err
	}
	for _, a := range as {
		ip, _ := netip.AddrFromSlice(a.IP.To4())
		ones, _ := a.Mask.Size()
		d.addrs = append(d.addrs, netip.PrefixFrom(ip, ones))
	}
	return d, nil
}
