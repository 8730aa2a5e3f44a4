package ipam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/api"
)

// TunnelKind selects which tunnel address EnsureTunnelAddress manages.
type TunnelKind int

// Tunnel kinds, with Calico's handle names and attribute types.
const (
	IPIP TunnelKind = iota
	VXLAN
	// VXLANV6 is the IPv6 VXLAN tunnel address (spec.ipv6VXLANTunnelAddr), from IPv6 pools.
	VXLANV6
	// WireGuard is the WireGuard device address (spec.wireguard.interfaceIPv4Address), from
	// any IPv4 pool, held only while the node publishes a WireGuard public key (Calico's
	// allocateip determineEnabledPoolCIDRs). Not in TunnelKinds: node/wireguard.go runs it.
	WireGuard
	// WireGuardV6 is the IPv6 WireGuard device's address (spec.wireguard.interfaceIPv6Address),
	// from any IPv6 pool, held while the node publishes status.wireguardPublicKeyV6.
	WireGuardV6
)

// TunnelKinds lists every kind, for loops that handle them all.
var TunnelKinds = []TunnelKind{IPIP, VXLAN, VXLANV6}

func (k TunnelKind) handle(node string) string {
	switch k {
	case VXLAN:
		return "vxlan-tunnel-addr-" + node
	case VXLANV6:
		return "vxlan-v6-tunnel-addr-" + node
	case WireGuard:
		return "wireguard-tunnel-addr-" + node
	case WireGuardV6:
		return "wireguard-v6-tunnel-addr-" + node
	}
	return "ipip-tunnel-addr-" + node
}

func (k TunnelKind) attrType() string {
	switch k {
	case VXLAN:
		return "vxlanTunnelAddress"
	case VXLANV6:
		return "vxlanV6TunnelAddress"
	case WireGuard:
		return "wireguardTunnelAddress"
	case WireGuardV6:
		return "wireguardV6TunnelAddress"
	}
	return "ipipTunnelAddress"
}

func (k TunnelKind) String() string {
	switch k {
	case VXLAN:
		return "VXLAN"
	case VXLANV6:
		return "VXLAN-v6"
	case WireGuard:
		return "WireGuard"
	case WireGuardV6:
		return "WireGuard-v6"
	}
	return "IPIP"
}

// v6 reports whether the kind's address comes from IPv6 pools.
func (k TunnelKind) v6() bool { return k == VXLANV6 || k == WireGuardV6 }

// needs reports whether pool p wants this kind of tunnel.
func (k TunnelKind) needs(p *pool) bool {
	if k == WireGuard || k == WireGuardV6 {
		return p.CIDR.Addr().Is4() == (k == WireGuard)
	}
	mode := p.IPIPMode
	if k != IPIP {
		mode = p.VXLANMode
	}
	return (mode == "Always" || mode == "CrossSubnet") && p.CIDR.Addr().Is4() == (k != VXLANV6)
}

// EnsureTunnelAddress makes node's IPIP or VXLAN tunnel address match the pools, as
// calico-node's tunnel-address allocator does: if an enabled IPv4 pool selecting the node
// uses the encapsulation (and allows Tunnel use), the node gets one address from such a pool
// (kept if it already has a valid one) written to its Node resource; otherwise any address is
// released and the field cleared. Returns the address, or the zero Addr when none is needed.
func (a *Allocator) EnsureTunnelAddress(ctx context.Context, node string, kind TunnelKind) (netip.Addr, error) {
	nv, found, err := a.getNode(ctx, node)
	if err != nil {
		return netip.Addr{}, err
	}
	if !found {
		return netip.Addr{}, fmt.Errorf("node %q does not exist", node)
	}
	all, err := a.allPools(ctx)
	if err != nil {
		return netip.Addr{}, err
	}
	var pools []*pool
	for _, p := range all {
		if kind == WireGuard && nv.Status.WireguardPublicKey == "" || kind == WireGuardV6 && nv.Status.WireguardPublicKeyV6 == "" {
			break // WireGuard is not running on the node: no device address
		}
		if !p.Disabled && p.allows(UseTunnel) && kind.needs(p) && p.selects(nv.Metadata.Labels) {
			pools = append(pools, p)
		}
	}
	handle := kind.handle(node)
	held, err := a.IPsByHandle(ctx, handle)
	if err != nil {
		return netip.Addr{}, err
	}
	inPools := func(ip netip.Addr) bool {
		return slices.ContainsFunc(pools, func(p *pool) bool { return p.CIDR.Contains(ip) })
	}
	// Keep one held address that is still valid; release the rest.
	var keep netip.Addr
	cur := currentTunnelAddr(nv, kind)
	if slices.Contains(held, cur) && inPools(cur) {
		keep = cur
	}
	for _, ip := range held {
		if !keep.IsValid() && inPools(ip) {
			keep = ip
		}
	}
	var drop []ReleaseOptions
	for _, ip := range held {
		if ip != keep {
			drop = append(drop, ReleaseOptions{Address: ip, Handle: handle})
		}
	}
	if len(drop) > 0 {
		if _, err := a.ReleaseIPs(ctx, drop...); err != nil {
			return netip.Addr{}, err
		}
	}
	if len(pools) == 0 {
		return netip.Addr{}, a.setTunnelAddr(ctx, node, kind, netip.Addr{})
	}
	if !keep.IsValid() {
		cidrs := make([]string, len(pools))
		for i, p := range pools {
			cidrs[i] = p.CIDR.String()
		}
		args := AutoAssignArgs{Num4: 1, HandleID: handle, Hostname: node,
			Attrs: map[string]string{AttrNode: node, AttrType: kind.attrType()}, IPv4Pools: cidrs, IntendedUse: UseTunnel}
		if kind.v6() {
			args.Num4, args.Num6, args.IPv4Pools, args.IPv6Pools = 0, 1, nil, cidrs
		}
		v4, v6, err := a.AutoAssign(ctx, args)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("allocating %s tunnel address for node %q: %w", kind, node, err)
		}
		if kind.v6() {
			keep = v6[0].Addr()
		} else {
			keep = v4[0].Addr()
		}
	}
	if err := a.setTunnelAddr(ctx, node, kind, keep); err != nil {
		return netip.Addr{}, err
	}
	return keep, nil
}

func currentTunnelAddr(nv *nodeView, kind TunnelKind) netip.Addr {
	s := nv.Spec.IPv4VXLANTunnelAddr
	if kind == VXLANV6 {
		s = nv.Spec.IPv6VXLANTunnelAddr
	}
	if kind == WireGuard || kind == WireGuardV6 {
		s = ""
		if w := nv.Spec.Wireguard; w != nil {
			s = w.InterfaceIPv4Address
			if kind == WireGuardV6 {
				s = w.InterfaceIPv6Address
			}
		}
	}
	if kind == IPIP {
		s = ""
		if nv.Spec.BGP != nil {
			s = nv.Spec.BGP.IPv4IPIPTunnelAddr
		}
	}
	ip, _ := netip.ParseAddr(s)
	return ip
}

// setTunnelAddr writes (or clears, for the zero Addr) the node's tunnel address field with a
// compare-and-swap on the Node's resourceVersion. The edit goes through the resource's JSON so
// every other field, known to this package or not, is kept as it was.
func (a *Allocator) setTunnelAddr(ctx context.Context, node string, kind TunnelKind, ip netip.Addr) error {
	return a.retry(ctx, "updating node "+node, func() error {
		r, err := a.c.Get(ctx, "Node", "", node)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		spec, _ := m["spec"].(map[string]any)
		if spec == nil {
			spec = map[string]any{}
			m["spec"] = spec
		}
		val := ""
		if ip.IsValid() {
			val = ip.String()
		}
		target, field := spec, "ipv4VXLANTunnelAddr"
		if kind == VXLANV6 {
			field = "ipv6VXLANTunnelAddr"
		}
		if kind == WireGuard || kind == WireGuardV6 {
			field = "interfaceIPv4Address"
			if kind == WireGuardV6 {
				field = "interfaceIPv6Address"
			}
			wg, _ := spec["wireguard"].(map[string]any)
			if wg == nil {
				if val == "" {
					return nil
				}
				wg = map[string]any{}
				spec["wireguard"] = wg
			}
			target = wg
		}
		if kind == IPIP {
			field = "ipv4IPIPTunnelAddr"
			bgp, _ := spec["bgp"].(map[string]any)
			if bgp == nil {
				if val == "" {
					return nil
				}
				bgp = map[string]any{}
				spec["bgp"] = bgp
			}
			target = bgp
		}
		old, _ := target[field].(string)
		if old == val {
			return nil
		}
		if val == "" {
			delete(target, field)
			if (kind == WireGuard || kind == WireGuardV6) && len(target) == 0 {
				delete(spec, "wireguard") // as Calico's allocateip sets an empty spec.wireguard to nil
			}
			if kind == IPIP && len(target) == 0 {
				// An empty spec.bgp is invalid (Calico's validator wants an address in it):
				// a node that had only the tunnel address there loses the whole block.
				delete(spec, "bgp")
			}
		} else {
			target[field] = val
		}
		k, ok := api.LookupKind("Node")
		if !ok {
			return fmt.Errorf("kind Node is not registered")
		}
		nr := k.NewResource()
		if raw, err = json.Marshal(m); err != nil {
			return err
		}
		if err := json.Unmarshal(raw, nr); err != nil {
			return err
		}
		_, err = a.c.Update(ctx, nr)
		if err == nil {
			a.log.Infow("set tunnel address", "node", node, "kind", kind.String(), "address", val)
		}
		return err
	})
}
