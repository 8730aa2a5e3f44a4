package calc

import (
	"cmp"
	"crypto/sha1"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// ipipDevice wants tunl0 as soon as any pool uses IPIP (Calico derives ipipEnabled from the
// pools the same way).
func (c *computer) ipipDevice() *IPIPDevice {
	for _, p := range c.pools {
		if !isEncap(p.IPIPMode) || !p.CIDR.Addr().Is4() {
			continue
		}
		d := &IPIPDevice{
			Name:   IPIPDeviceName,
			MTU:    c.uplinkMTU() - IPIPOverhead,
			Reason: "pool " + p.CIDR.String() + " has ipipMode " + p.IPIPMode,
		}
		if c.hasLoc && c.local.IPIPTunnelAddr.Is4() {
			d.Addr = c.local.IPIPTunnelAddr
		} else {
			c.skip(IPIPDeviceName+" address", "this node has no ipv4IPIPTunnelAddr yet")
		}
		return d
	}
	return nil
}

// vxlanDevice wants vxlan.calico (v6 false, IPv4 pools) or vxlan-v6.calico (v6 true, IPv6
// pools) when a pool of that family uses VXLAN and this node's VTEP of that family is known
// (its address and VXLAN tunnel address of the family); like Felix, it waits for both.
func (c *computer) vxlanDevice(v6 bool) *VXLANDevice {
	name, overhead, fam, field, mac := VXLANDeviceName, VXLANOverhead, "IPv4", "ipv4VXLANTunnelAddr", VXLANMAC
	host, tunnel := c.local.IPv4, c.local.VXLANTunnelAddr
	if v6 {
		name, overhead, fam, field, mac = VXLANV6DeviceName, VXLANV6Overhead, "IPv6", "ipv6VXLANTunnelAddr", VXLANMACV6
		host, tunnel = c.local.IPv6, c.local.VXLANTunnelAddrV6
	}
	for _, p := range c.pools {
		if !isEncap(p.VXLANMode) || p.CIDR.Addr().Is4() == v6 {
			continue
		}
		if !c.hasLoc || !host.IsValid() {
			c.skip(name, fmt.Sprintf("pool %s has vxlanMode %s but this node has no %s address", p.CIDR, p.VXLANMode, fam))
			return nil
		}
		if !tunnel.IsValid() || tunnel.Is6() != v6 {
			c.skip(name, fmt.Sprintf("pool %s has vxlanMode %s but this node has no %s yet", p.CIDR, p.VXLANMode, field))
			return nil
		}
		return &VXLANDevice{
			Name:    name,
			VNI:     VXLANVNI,
			Port:    VXLANPort,
			MTU:     c.uplinkMTU() - overhead,
			MAC:     mac(c.local),
			Addr:    tunnel,
			Parent:  c.s.Uplink,
			SrcAddr: host.Addr(),
			Reason:  "pool " + p.CIDR.String() + " has vxlanMode " + p.VXLANMode,
		}
	}
	return nil
}

// deriveNode records what one node contributes on its own: its address among the tunnel
// sources and, when VXLAN is in use here, its VTEP candidate.
const vtepReason = "remote node with a VXLAN tunnel address"

func (c *computer) deriveNode(k *sink, n Node) {
	if n.IPv4.IsValid() && n.IPv4.Addr().Is4() {
		k.host(n.IPv4.Addr())
	}
	if c.vxlan == nil || n.Name == c.s.NodeName || !n.VXLANTunnelAddr.Is4() {
		return
	}
	if !n.IPv4.IsValid() {
		k.skip("vtep "+n.Name, "node has a VXLAN tunnel address but no IPv4 address")
		return
	}
	// The node and its tunnel address are the VTEP's own fields: one shared sentence rather
	// than one built per node.
	k.vtep(VTEP{Node: n.Name, TunnelIP: n.VXLANTunnelAddr, MAC: VXLANMAC(n), HostIP: n.IPv4.Addr(),
		Reason: vtepReason})
}

// resolveVTEPs merges the VTEPs at the tunnel addresses whose candidates changed. Two nodes
// claiming one tunnel address is an IPAM error: the first by name keeps it whatever the map
// order, and the others are listed as skipped.
func (c *computer) resolveVTEPs() []VTEP {
	inc := &c.memo.inc
	// Each tunnel address once: deriving it twice would count its skips twice.
	changed := slices.Compact(slices.Sorted(slices.Values(inc.chVTEPs)))
	for _, key := range changed {
		k := inc.begin(srcID{kind: srcVTEP, pfx: netip.PrefixFrom(addrFromKey(key), 32)})
		if vs := inc.vcands[key]; len(vs) > 1 {
			win := vtepWinner(vs)
			for _, v := range vs {
				if v.Node != win.Node {
					k.skip("vtep "+v.Node, "tunnel address "+win.TunnelIP.String()+" also claimed by node "+win.Node)
				}
			}
		}
		inc.commit(k)
	}
	return mergeSorted(inc.vteps, inc.chVTEPs, func(v VTEP) uint64 { return addrKey(v.TunnelIP) }, cmp.Compare[uint64],
		func(key uint64) (VTEP, bool) {
			vs := inc.vcands[key]
			if len(vs) == 0 {
				return VTEP{}, false
			}
			return vtepWinner(vs), true
		})
}

func vtepWinner(vs []VTEP) VTEP {
	win := vs[0]
	for _, v := range vs[1:] {
		if v.Node < win.Node {
			win = v
		}
	}
	return win
}

func addrFromKey(k uint64) netip.Addr {
	v := uint32(k >> 16)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// VXLANMAC returns the node's VXLAN device MAC: spec.vxlanTunnelMACAddr when set, else
// Calico's deterministic one, 0x66 followed by the first five bytes of sha1(node name).
// 0x66 has the locally-administered bit set and the multicast bit clear.
func VXLANMAC(n Node) net.HardwareAddr {
	if len(n.VXLANMAC) == 6 {
		return slices.Clone(n.VXLANMAC)
	}
	sum := sha1.Sum([]byte(n.Name))
	return net.HardwareAddr(append([]byte{0x66}, sum[:5]...))
}
