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
)

func (k TunnelKind) handle(node string) string {
	if k == VXLAN {
		return "vxlan-tunnel-addr-" + node
	}
	return "ipip-tunnel-addr-" + node
}

func (k TunnelKind) attrType() string {
	if k == VXLAN {
		return "vxlanTunnelAddress"
	}
	return "ipipTunnelAddress"
}

func (k TunnelKind) String() string {
	if k == VXLAN {
		return "VXLAN"
	}
	return "IPIP"
}

// needs reports whether pool p wants this kind of tunnel.
func (k TunnelKind) needs(p *pool) bool {
	mode := p.IPIPMode
	if k == VXLAN {
		mode = p.VXLANMode
	}
	return mode == "Always" || mode == "CrossSubnet"
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
		if p.CIDR.Addr().Is4() && !p.Disabled && p.allows(UseTunnel) && kind.needs(p) && p.selects(nv.Metadata.Labels) {
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
		v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: handle, Hostname: node,
			Attrs: map[string]string{AttrNode: node, AttrType: kind.attrType()}, IPv4Pools: cidrs, IntendedUse: UseTunnel})
		if err != nil {
			return netip.Addr{}, fmt.Errorf("allocating %s tunnel address for node %q: %w", kind, node, err)
		}
		keep = v4[0].Addr()
	}
	if err := a.setTunnelAddr(ctx, node, kind, keep); err != nil {
		return netip.Addr{}, err
	}
	return keep, nil
}

func currentTunnelAddr(nv *nodeView, kind TunnelKind) netip.Addr {
	s := nv.Spec.IPv4VXLANTunnelAddr
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
