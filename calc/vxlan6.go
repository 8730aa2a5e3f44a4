package calc

import (
	"cmp"
	"crypto/sha1"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// VXLAN for IPv6 pools, as Felix's vxlan_mgr.go runs it: a second device, vxlan-v6.calico,
// with the same VNI and port, an IPv6 underlay (the node's bgp.ipv6Address) and its own
// tunnel address (spec.ipv6VXLANTunnelAddr) and MAC.
const (
	VXLANV6DeviceName = "vxlan-v6.calico"
	// VXLANV6Overhead is the IPv6 VXLAN header overhead (40 IPv6 + 8 UDP + 8 VXLAN + 14
	// Ethernet), as Calico's ConfigureDefaultMTUs subtracts for vxlan-v6.calico.
	VXLANV6Overhead = 70
)

// VXLANMACV6 returns the node's vxlan-v6.calico MAC: spec.vxlanTunnelMACAddrV6 when set,
// else Calico's deterministic one from sha1(name + "-v6") (felix/calc/vxlan_resolver.go).
func VXLANMACV6(n Node) net.HardwareAddr {
	if len(n.VXLANMACV6) == 6 {
		return slices.Clone(n.VXLANMACV6)
	}
	sum := sha1.Sum([]byte(n.Name + "-v6"))
	return net.HardwareAddr(append([]byte{0x66}, sum[:5]...))
}

// vtepsV6 lists the remote IPv6 VTEPs, sorted by tunnel address. Unlike the IPv4 ones they
// are derived from all nodes on every Compute (only while vxlan-v6.calico is wanted): IPv6
// VXLAN clusters are rare, and the dataplane diffs the list against the previous one.
func (c *computer) vtepsV6() []VTEP {
	var out []VTEP
	for _, n := range c.s.Nodes {
		if n.Name == c.s.NodeName || !n.VXLANTunnelAddrV6.Is6() {
			continue
		}
		if !n.IPv6.IsValid() {
			c.skip("vtep-v6 "+n.Name, "node has an IPv6 VXLAN tunnel address but no IPv6 address")
			continue
		}
		out = append(out, VTEP{Node: n.Name, TunnelIP: n.VXLANTunnelAddrV6, MAC: VXLANMACV6(n),
			HostIP: n.IPv6.Addr(), Reason: vtepReason})
	}
	slices.SortFunc(out, func(a, b VTEP) int {
		return cmp.Or(a.TunnelIP.Compare(b.TunnelIP), cmp.Compare(a.Node, b.Node))
	})
	// Two nodes claiming one tunnel address (an IPAM error): the first by name keeps it.
	return slices.CompactFunc(out, func(a, b VTEP) bool {
		if a.TunnelIP == b.TunnelIP {
			c.skip("vtep-v6 "+b.Node, "tunnel address "+a.TunnelIP.String()+" also claimed by node "+a.Node)
			return true
		}
		return false
	})
}

// routeV6VXLAN routes an IPv6 destination of a VXLAN pool through vxlan-v6.calico to the
// peer's IPv6 tunnel address (onlink, resolved by the permanent neighbour entry).
func (c *computer) routeV6VXLAN(k *sink, dst netip.Prefix, pool Pool, peer Node, what string, share bool) (Route, bool) {
	if c.vxlan6 == nil {
		k.skip(what+" "+dst.String(), "pool "+pool.CIDR.String()+" needs VXLAN but "+VXLANV6DeviceName+" is not set up on this node")
		return Route{}, false
	}
	if !peer.VXLANTunnelAddrV6.Is6() {
		k.skip(what+" "+dst.String(), "node "+peer.Name+" has no IPv6 VXLAN tunnel address yet")
		return Route{}, false
	}
	r := Route{Dst: dst, Kind: RouteVia, Dev: VXLANV6DeviceName, Gw: peer.VXLANTunnelAddrV6, OnLink: true}
	rk := reasonKey{what: what, pool: pool.CIDR, inPool: true, dev: VXLANV6DeviceName}
	share = share && pool.VXLANMode != ModeCrossSubnet
	if r.Reason = c.sharedReason(rk); !share || r.Reason == "" {
		r.Reason = fmt.Sprintf("%s via %s: pool %s vxlanMode %s%s", what, VXLANV6DeviceName, pool.CIDR,
			pool.VXLANMode, c.subnetNote(pool.VXLANMode, peer.IPv6.Addr()))
		if share {
			c.keepReason(rk, r.Reason)
		}
	}
	return r, true
}

// hostsV6 are every node's IPv6 address (this one's included, as for IPv4), sorted: the
// sources VXLAN over IPv6 is accepted from.
func (c *computer) hostsV6() []netip.Addr {
	var out []netip.Addr
	for _, n := range c.s.Nodes {
		if n.IPv6.IsValid() {
			out = append(out, n.IPv6.Addr())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
