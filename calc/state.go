package calc

import "net/netip"

// State is the input of Compute: everything this node knows about the cluster. The agent
// keeps one State, updates it from watch events (cheap, no I/O) and calls Compute when it
// wants to program the kernel. Its maps are keyed so that the last update for a key wins,
// which is what makes the result independent of event order.
//
// Change nodes and pools through the methods (or call Invalidate after editing the maps):
// Compute remembers per-node results between calls. A State is used by one goroutine.
type State struct {
	// NodeName is this node's name; Nodes[NodeName] is the local node.
	NodeName string
	// Uplink is the device holding this node's IPv4 address; plain routes to peers and the
	// VXLAN device's parent use it. UplinkMTU sizes the tunnels (0 means 1500).
	Uplink    string
	UplinkMTU int
	// RoutesFromBGP: when true, remote routes for non-VXLAN pools come from Learned (the BGP
	// speaker) instead of block affinities; VXLAN pools always route from the datastore.
	RoutesFromBGP bool

	Nodes     map[string]Node
	Pools     map[netip.Prefix]Pool
	Blocks    map[netip.Prefix]Block
	Workloads map[string]LocalWorkload // keyed by interface name
	Learned   map[netip.Prefix]LearnedRoute

	memo *memo
}

// NewState returns an empty State for the named node.
func NewState(nodeName string) *State {
	return &State{
		NodeName:  nodeName,
		Nodes:     map[string]Node{},
		Pools:     map[netip.Prefix]Pool{},
		Blocks:    map[netip.Prefix]Block{},
		Workloads: map[string]LocalWorkload{},
		Learned:   map[netip.Prefix]LearnedRoute{},
	}
}

// SetNode adds or replaces a node. Addresses of the wrong family (a record written by hand)
// are dropped here, once, so that no derivation can meet them: VTEPs and tunnel sources are
// keyed by 32-bit addresses.
func (s *State) SetNode(n Node) {
	s.invalidateNode(n.Name)
	if n.IPv4.IsValid() && !n.IPv4.Addr().Is4() {
		n.IPv4 = netip.Prefix{}
	}
	if n.IPv6.IsValid() && !n.IPv6.Addr().Is6() {
		n.IPv6 = netip.Prefix{}
	}
	if !n.IPIPTunnelAddr.Is4() {
		n.IPIPTunnelAddr = netip.Addr{}
	}
	if !n.VXLANTunnelAddr.Is4() {
		n.VXLANTunnelAddr = netip.Addr{}
	}
	if !n.WireguardAddr.Is4() {
		n.WireguardAddr = netip.Addr{}
	}
	if !n.WireguardAddrV6.Is6() || n.WireguardAddrV6.Is4In6() {
		n.WireguardAddrV6 = netip.Addr{}
	}
	if !n.VXLANTunnelAddrV6.Is6() || n.VXLANTunnelAddrV6.Is4In6() {
		n.VXLANTunnelAddrV6 = netip.Addr{}
	}
	s.Nodes[n.Name] = n
}

// DeleteNode removes a node.
func (s *State) DeleteNode(name string) {
	s.invalidateNode(name)
	delete(s.Nodes, name)
}

// SetPool adds or replaces a pool.
func (s *State) SetPool(p Pool) {
	s.memo = nil
	s.Pools[p.CIDR.Masked()] = p
}

// DeletePool removes a pool.
func (s *State) DeletePool(cidr netip.Prefix) {
	s.memo = nil
	delete(s.Pools, cidr.Masked())
}

// SetBlock adds or replaces a block.
func (s *State) SetBlock(b Block) {
	s.touchBlock(b.CIDR.Masked())
	s.Blocks[b.CIDR.Masked()] = b
}

// DeleteBlock removes a block.
func (s *State) DeleteBlock(cidr netip.Prefix) {
	s.touchBlock(cidr.Masked())
	delete(s.Blocks, cidr.Masked())
}

// SetWorkload adds or replaces a local workload, keyed by its interface.
func (s *State) SetWorkload(w LocalWorkload) {
	s.touchWorkload(w.Iface)
	s.Workloads[w.Iface] = w
}

// DeleteWorkload removes the local workload on iface.
func (s *State) DeleteWorkload(iface string) {
	s.touchWorkload(iface)
	delete(s.Workloads, iface)
}

// SetLearnedRoute adds or replaces the BGP speaker's best route for r.Dst.
func (s *State) SetLearnedRoute(r LearnedRoute) {
	s.touchLearned(r.Dst.Masked())
	s.Learned[r.Dst.Masked()] = r
}

// DeleteLearnedRoute removes the learned route for dst (the path was withdrawn).
func (s *State) DeleteLearnedRoute(dst netip.Prefix) {
	s.touchLearned(dst.Masked())
	delete(s.Learned, dst.Masked())
}

// ReplaceLearnedRoutes sets the complete list of learned routes (e.g. after a BGP resync).
func (s *State) ReplaceLearnedRoutes(rs []LearnedRoute) {
	for dst := range s.Learned {
		s.touchLearned(dst)
	}
	s.Learned = make(map[netip.Prefix]LearnedRoute, len(rs))
	for _, r := range rs {
		s.SetLearnedRoute(r)
	}
}
