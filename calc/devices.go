package calc

import (
	"cmp"
	"crypto/sha1"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// ipipDevice wants tunl0 as soon as any pool uses IPIP (Calico derives ipipEnabled from the
// pools the same way).
func (c *computer) ipipDevice() *IPIPDevice {
	for _, p := range c.pools {
		if !isEncap(p.IPIPMode) {
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

// vxlanDevice wants vxlan.calico when a pool uses VXLAN and this node's VTEP is known (its
// IPv4 address and VXLAN tunnel address); like Felix, it waits for both.
func (c *computer) vxlanDevice() *VXLANDevice {
	for _, p := range c.pools {
		if !isEncap(p.VXLANMode) {
			continue
		}
		if !c.hasLoc || !c.local.IPv4.IsValid() {
			c.skip(VXLANDeviceName, fmt.Sprintf("pool %s has vxlanMode %s but this node has no IPv4 address", p.CIDR, p.VXLANMode))
			return nil
		}
		if !c.local.VXLANTunnelAddr.Is4() {
			c.skip(VXLANDeviceName, fmt.Sprintf("pool %s has vxlanMode %s but this node has no ipv4VXLANTunnelAddr yet", p.CIDR, p.VXLANMode))
			return nil
		}
		return &VXLANDevice{
			Name:    VXLANDeviceName,
			VNI:     VXLANVNI,
			Port:    VXLANPort,
			MTU:     c.uplinkMTU() - VXLANOverhead,
			MAC:     VXLANMAC(c.local),
			Addr:    c.local.VXLANTunnelAddr,
			Parent:  c.s.Uplink,
			SrcAddr: c.local.IPv4.Addr(),
			Reason:  "pool " + p.CIDR.String() + " has vxlanMode " + p.VXLANMode,
		}
	}
	return nil
}

// vteps lists every other node that has a VXLAN tunnel address, when VXLAN is in use here.
func (c *computer) vteps() []VTEP {
	if c.vxlan == nil {
		return nil
	}
	out := make([]VTEP, 0, len(c.s.Nodes))
	for name, n := range c.s.Nodes {
		if name == c.s.NodeName || !n.VXLANTunnelAddr.Is4() {
			continue
		}
		if !n.IPv4.IsValid() {
			c.skip("vtep "+name, "node has a VXLAN tunnel address but no IPv4 address")
			continue
		}
		v, ok := c.memo.vtep[name]
		if !ok {
			v = VTEP{Node: name, TunnelIP: n.VXLANTunnelAddr, MAC: VXLANMAC(n), HostIP: n.IPv4.Addr(),
				Reason: "node " + name + " has VXLAN tunnel address " + n.VXLANTunnelAddr.String()}
			c.memo.vtep[name] = v
		}
		out = append(out, v)
	}
	// Sort by tunnel address, then node name, through small keys (moving 10,000 VTEP
	// structs costs more than the rest). Two nodes claiming one tunnel address is an IPAM
	// error: keep the first by name whatever the map order, and say so.
	keys := make([]sortKey, len(out))
	for i, v := range out {
		keys[i] = sortKey{dst: prefixKey(netip.PrefixFrom(v.TunnelIP, 32)), idx: int32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.dst != b.dst {
			return cmp.Compare(a.dst, b.dst)
		}
		return strings.Compare(out[a.idx].Node, out[b.idx].Node)
	})
	sorted := make([]VTEP, 0, len(out))
	for i, k := range keys {
		if i > 0 && keys[i-1].dst == k.dst {
			prev := sorted[len(sorted)-1]
			c.skip("vtep "+out[k.idx].Node, "tunnel address "+prev.TunnelIP.String()+" also claimed by node "+prev.Node)
			continue
		}
		sorted = append(sorted, out[k.idx])
	}
	return sorted
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
