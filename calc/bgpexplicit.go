package calc

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"

	"github.com/brindle-net/brindle/api/selector"
)

// explicitPeers walks the BGPPeers twice, global ones first, as confd does, so that a
// node-specific peering can be dropped in favour of a global one to the same ip:port.
// Within a scope the first BGPPeer by name wins a key, so the result is deterministic.
func (d *bgpDeriver) explicitPeers() {
	specs := slices.Clone(d.in.Peers)
	slices.SortFunc(specs, func(a, b BGPPeerSpec) int { return cmp.Compare(a.Name, b.Name) })
	for _, globalPass := range []bool{true, false} {
		for _, spec := range specs {
			if isGlobal := spec.Node == "" && spec.NodeSelector == ""; isGlobal == globalPass {
				d.explicitPeer(spec, globalPass)
			}
		}
	}
}

func (d *bgpDeriver) explicitPeer(spec BGPPeerSpec, global bool) {
	subject := "BGPPeer " + spec.Name
	locals, err := d.localNodes(spec)
	if err != nil {
		d.skip(subject, "spec.nodeSelector: "+err.Error())
		return
	}
	targets, peerNodes, err := d.peerTargets(spec)
	if err != nil {
		d.skip(subject, err.Error())
		return
	}
	typ := BGPPeerNodeSpecific
	scope := d.node
	if global {
		typ, scope = BGPPeerGlobal, d.global
	}
	if global || slices.Contains(locals, d.me.Name) {
		for _, t := range targets {
			t.Type, t.Reason = typ, subject
			putFirst(scope, t)
		}
	}
	// Reverse peerings: a node the peer side names peers back with every local node (all
	// nodes for a global BGPPeer), as a node-specific peering.
	if !slices.Contains(peerNodes, d.me.Name) {
		return
	}
	if global {
		locals = locals[:0]
		for _, n := range d.nodes {
			locals = append(locals, n.Name)
		}
	}
	for _, name := range locals {
		n, ok := d.nodeByName(name)
		if !ok || name == d.me.Name {
			continue
		}
		for _, t := range d.nodeTargets(n, spec) {
			if addr, err := netip.ParseAddr(hostOf(spec.PeerIP)); err == nil && addr.Is4() != t.Address.Is4() {
				continue // a peerIP peering is reversed in its own address family only
			}
			t.Type, t.Reason = BGPPeerNodeSpecific, subject+" (reverse peering with node "+name+")"
			putFirst(d.node, t)
		}
	}
}

func putFirst(m map[peerKey]target, t target) {
	k := peerKey{t.Address, t.Port}
	if _, taken := m[k]; !taken {
		m[k] = t
	}
}

// localNodes are the nodes a BGPPeer applies to: spec.node, the nodeSelector's nodes, or
// none (nil) for a global BGPPeer.
func (d *bgpDeriver) localNodes(spec BGPPeerSpec) ([]string, error) {
	if spec.Node != "" {
		return []string{spec.Node}, nil
	}
	if spec.NodeSelector == "" {
		return nil, nil
	}
	return d.nodesMatching(spec.NodeSelector)
}

// peerTargets are the far ends a BGPPeer names and, among them, the Calico nodes.
func (d *bgpDeriver) peerTargets(spec BGPPeerSpec) ([]target, []string, error) {
	if spec.PeerSelector != "" {
		names, err := d.nodesMatching(spec.PeerSelector)
		if err != nil {
			return nil, nil, fmt.Errorf("spec.peerSelector: %v", err)
		}
		var out []target
		for _, name := range names {
			n, _ := d.nodeByName(name)
			out = append(out, d.nodeTargets(n, spec)...)
		}
		return out, names, nil
	}
	addr, port, err := parsePeerIP(spec.PeerIP)
	if err != nil {
		return nil, nil, fmt.Errorf("spec.peerIP: %v", err)
	}
	as := spec.ASNumber
	t := d.specTarget(addr, port, as, spec)
	var names []string
	for _, n := range d.nodes {
		if n.IPv4 == addr || n.IPv6 == addr {
			// A peerIP that is a Calico node: passive-end choice and reverse peering apply.
			t.calicoNode, t.rrCluster = n.Name, n.RRClusterID
			if as == 0 {
				t.AS = d.asOf(n)
			}
			names = append(names, n.Name)
		}
	}
	if t.AS == 0 {
		return nil, nil, fmt.Errorf("spec.asNumber: required with spec.peerIP %s", spec.PeerIP)
	}
	return []target{t}, names, nil
}

func (d *bgpDeriver) nodesMatching(sel string) ([]string, error) {
	s, err := selector.Parse(sel)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range d.nodes {
		if s.Evaluate(n.Labels) {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

func (d *bgpDeriver) nodeByName(name string) (BGPNode, bool) {
	i, ok := slices.BinarySearchFunc(d.nodes, name, func(n BGPNode, name string) int { return cmp.Compare(n.Name, name) })
	if !ok {
		return BGPNode{}, false
	}
	return d.nodes[i], true
}

// hostOf is the address part of a peerIP ("" when spec has a peerSelector instead).
func hostOf(peerIP string) string {
	if h, _, err := net.SplitHostPort(peerIP); err == nil {
		return h
	}
	return peerIP
}

// parsePeerIP accepts "ip", "ip:port" and "[ipv6]:port"; port 179 reads as 0.
func parsePeerIP(s string) (netip.Addr, uint16, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, 0, nil
	}
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%q is not an IP address or ip:port", s)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("%q: %q is not an IP address", s, host)
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || port == 0 {
		return netip.Addr{}, 0, fmt.Errorf("%q: port %q must be 1-65535", s, ps)
	}
	if port == 179 {
		port = 0
	}
	return a, uint16(port), nil
}
