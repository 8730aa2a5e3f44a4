package calc

import (
	"cmp"
	"fmt"
	"net/netip"
)

// Precedence when two sources want the same destination: a local workload beats a borrowed
// address's /32, which beats a local blackhole, which beats a remote block route. Only /32
// blocks can collide this way, but the answer must not depend on map order.
const (
	rankWorkload = iota
	rankBorrowed
	rankBlackhole
	rankRemote
)

type candidate struct {
	r    Route
	rank int32
	src  int32 // index of the contributing input
}

func compareRoute(a, b Route) int {
	return cmp.Or(cmp.Compare(a.Dev, b.Dev), a.Gw.Compare(b.Gw), cmp.Compare(a.Reason, b.Reason))
}

// better reports whether a wins over b for the same destination.
func (a candidate) better(b candidate) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return compareRoute(a.r, b.r) < 0
}

// resolveRoutes merges the winners at the destinations whose candidates changed into the
// previous sorted route list.
func (c *computer) resolveRoutes() []Route {
	inc := &c.memo.inc
	return mergeSorted(inc.routes, inc.chRoutes, func(r Route) netip.Prefix { return r.Dst }, comparePrefix,
		func(k netip.Prefix) (Route, bool) {
			best, ok := inc.best(k)
			return best.r, ok
		})
}

func (c *computer) deriveWorkload(k *sink, w LocalWorkload) {
	for _, ip := range w.IPs {
		a := ip.Addr().Unmap()
		// One host route per address, /32 or /128, as Felix programs them.
		dst := netip.PrefixFrom(a, a.BitLen())
		k.route(Route{Dst: dst, Kind: RouteWorkload, Dev: w.Iface,
			Reason: "local workload on " + w.Iface}, rankWorkload)
	}
}

func (c *computer) deriveBlock(k *sink, b Block) {
	cidr := b.CIDR.Masked()
	pool, inPool := c.poolFor(cidr)
	// With BGP as the route source, only VXLAN pools are routed from block affinities;
	// local blackholes are always ours to program.
	fromDatastore := !c.s.RoutesFromBGP || (inPool && isEncap(pool.VXLANMode))
	switch {
	case b.Node == c.s.NodeName && cidr.IsSingleIP():
		// A /32 (/128) block is one workload address: its workload route is the whole
		// story, and a blackhole for it would collide with that route (Calico skips /32
		// blocks in both BIRD's aggregation and Felix's blackholes for the same reason).
	case b.Node == c.s.NodeName:
		// In BGP mode Calico's BIRD programs this blackhole (`blackhole <block> proto bird`,
		// as the seed shows); for VXLAN pools Felix does (protocol 80). Match both.
		k.route(Route{Dst: cidr, Kind: RouteBlackhole, FromBGP: !fromDatastore,
			Reason: "local affine block: unallocated addresses must not leave the node"}, rankBlackhole)
	case b.Node == "":
		// No affinity: only its borrowed addresses are routed.
	case fromDatastore:
		if r, ok := c.routeToNode(k, cidr, pool, inPool, b.Node, "remote block", true); ok {
			k.route(r, rankRemote)
		}
	}
	if !fromDatastore {
		return
	}
	for _, bi := range b.Borrowed {
		if bi.Node == c.s.NodeName || bi.Node == "" || bi.Node == b.Node || bi.Addr.Is4() != cidr.Addr().Is4() {
			continue // ours (a workload route covers it), not borrowed at all, or not of this block
		}
		dst := netip.PrefixFrom(bi.Addr, bi.Addr.BitLen())
		if r, ok := c.routeToNode(k, dst, pool, inPool, bi.Node, "address borrowed from block "+cidr.String(), false); ok {
			k.route(r, rankBorrowed)
		}
	}
}

// deriveLearned turns a BGP-learned path into a route for a non-VXLAN pool (or for a prefix
// outside all pools, which a BGP peer such as a top-of-rack router may send).
func (c *computer) deriveLearned(k *sink, l LearnedRoute) {
	dst := l.Dst.Masked()
	if dst.Addr().Is4() != l.NextHop.Is4() {
		// IPv6 over an IPv4 next hop (or the reverse) has no kernel route without a
		// mapped address; Calico's BIRD and BIRD6 never exchange such paths either.
		k.skip("learned "+dst.String(), "next hop "+l.NextHop.String()+" is of the other address family")
		return
	}
	if own := c.localAddr(dst.Addr().Is4()); own.IsValid() && l.NextHop == own.Addr() {
		return // our own advertisement reflected back
	}
	pool, inPool := c.poolFor(dst)
	if inPool && isEncap(pool.VXLANMode) {
		k.skip("learned "+dst.String(), "pool "+pool.CIDR.String()+" uses VXLAN: routed from the datastore")
		return
	}
	if b, ok := c.s.Blocks[dst]; ok && b.Node == c.s.NodeName {
		return // our own block: the blackhole stays
	}
	r := c.routeVia(pool, inPool, l.NextHop, "learned route", "", true)
	r.FromBGP = true
	r.Dst = dst
	if !r.OnLink {
		// Without encapsulation the next hop may sit behind a router (a peer in another
		// subnet, a multihop eBGP peer): the kernel's route to it decides gateway and device.
		r.Recursive, r.Dev = true, ""
		rk := reasonKey{what: r.Reason, dev: "(recursive)"}
		if r.Reason = c.sharedReason(rk); r.Reason == "" {
			r.Reason = c.keepReason(rk, rk.what+"; gateway and device from the kernel's route to the next hop (resolved recursively)")
		}
	}
	k.route(r, rankRemote)
}

// reasonKey names a route reason that does not depend on the peer: every remote block in
// one pool routed the same way shares one string, instead of one built per node (10,000
// nodes, 10,000 copies of the same sentence). Reasons that name a peer (CrossSubnet, borrowed
// addresses) are built per route.
type reasonKey struct {
	what   string
	pool   netip.Prefix
	inPool bool
	dev    string
}

// sharedReason returns the remembered reason for k, or "" when there is none yet.
func (c *computer) sharedReason(k reasonKey) string { return c.memo.reasons[k] }

func (c *computer) keepReason(k reasonKey, why string) string {
	c.memo.reasons[k] = why
	return why
}

// routeToNode routes dst to the node called name, shaped by the pool's encapsulation.
// The input being derived depends on that node from now on. share says what is the same
// for every route of its kind (no block or address in it), so its reason can be shared.
func (c *computer) routeToNode(k *sink, dst netip.Prefix, pool Pool, inPool bool, name, what string, share bool) (Route, bool) {
	k.dep(name)
	peer, ok := c.s.Nodes[name]
	v4 := dst.Addr().Is4()
	peerAddr := peer.addr(v4)
	if !ok || !peerAddr.IsValid() {
		k.skip(what+" "+dst.String(), "node "+name+" is unknown or has no "+family(v4)+" address")
		return Route{}, false
	}
	peerIP := peerAddr.Addr()
	if !v4 && inPool && isEncap(pool.VXLANMode) && !(pool.VXLANMode == ModeCrossSubnet && c.sameSubnet(peerIP)) {
		return c.routeV6VXLAN(k, dst, pool, peer, what, share)
	}
	if inPool && isEncap(pool.VXLANMode) && !(pool.VXLANMode == ModeCrossSubnet && c.sameSubnet(peerIP)) {
		if c.vxlan == nil {
			k.skip(what+" "+dst.String(), "pool "+pool.CIDR.String()+" needs VXLAN but "+VXLANDeviceName+" is not set up on this node")
			return Route{}, false
		}
		if !peer.VXLANTunnelAddr.Is4() {
			k.skip(what+" "+dst.String(), "node "+name+" has no VXLAN tunnel address yet")
			return Route{}, false
		}
		r := Route{Dst: dst, Kind: RouteVia, Dev: VXLANDeviceName, Gw: peer.VXLANTunnelAddr, OnLink: true}
		rk := reasonKey{what: what, pool: pool.CIDR, inPool: inPool, dev: VXLANDeviceName}
		share = share && pool.VXLANMode != ModeCrossSubnet
		if r.Reason = c.sharedReason(rk); !share || r.Reason == "" {
			r.Reason = fmt.Sprintf("%s via %s: pool %s vxlanMode %s%s", what, VXLANDeviceName, pool.CIDR,
				pool.VXLANMode, c.subnetNote(pool.VXLANMode, peerIP))
			if share {
				c.keepReason(rk, r.Reason)
			}
		}
		return r, true
	}
	r := c.routeVia(pool, inPool, peerIP, what, name, share)
	r.Dst = dst
	return r, true
}

// routeVia is the IPIP or plain route (without destination) to a gateway that is a node's
// own address. node names the peer in reasons built per route (empty for a learned next
// hop); share as for routeToNode.
func (c *computer) routeVia(pool Pool, inPool bool, gw netip.Addr, what, node string, share bool) Route {
	rk := reasonKey{what: what, pool: pool.CIDR, inPool: inPool}
	// Calico has no IPIP for IPv6 (ipipMode is rejected on IPv6 pools); an IPv6 gateway is
	// always reached without IPIP.
	ipip := gw.Is4() && inPool && isEncap(pool.IPIPMode) && !(pool.IPIPMode == ModeCrossSubnet && c.sameSubnet(gw))
	cross := inPool && (pool.IPIPMode == ModeCrossSubnet || (!ipip && pool.VXLANMode == ModeCrossSubnet))
	share = share && !cross
	if node != "" && !share {
		what += " of node " + node
	}
	if ipip {
		r := Route{Kind: RouteVia, Dev: IPIPDeviceName, Gw: gw, OnLink: true}
		rk.dev = IPIPDeviceName
		if r.Reason = c.sharedReason(rk); !share || r.Reason == "" {
			r.Reason = fmt.Sprintf("%s via %s: pool %s ipipMode %s%s", what, IPIPDeviceName, pool.CIDR,
				pool.IPIPMode, c.subnetNote(pool.IPIPMode, gw))
			if share {
				c.keepReason(rk, r.Reason)
			}
		}
		return r
	}
	r := Route{Kind: RouteVia, Dev: c.s.Uplink, Gw: gw}
	rk.dev = c.s.Uplink
	if r.Reason = c.sharedReason(rk); share && r.Reason != "" {
		return r
	}
	why := "no pool covers it"
	if inPool {
		why = fmt.Sprintf("pool %s ipipMode %s vxlanMode %s", pool.CIDR, modeName(pool.IPIPMode), modeName(pool.VXLANMode))
		if cross {
			why += " and peer " + gw.String() + " in this node's subnet"
		}
	}
	if share {
		// The gateway is the route's own field; the shared sentence leaves it out.
		r.Reason = c.keepReason(rk, fmt.Sprintf("%s without encapsulation: %s", what, why))
	} else {
		r.Reason = fmt.Sprintf("%s via %s without encapsulation: %s", what, gw, why)
	}
	return r
}

func (c *computer) subnetNote(mode string, peer netip.Addr) string {
	if mode == ModeCrossSubnet {
		return " and peer " + peer.String() + " in another subnet"
	}
	return ""
}

// sameSubnet is Calico's SameSubnet test: the peer's address is inside the local node's
// bgp.ipv4Address (bgp.ipv6Address for an IPv6 peer) CIDR. An unknown local address counts
// as another subnet (encapsulate).
func (c *computer) sameSubnet(peer netip.Addr) bool {
	own := c.localAddr(peer.Is4())
	return own.IsValid() && own.Masked().Contains(peer)
}

// localAddr is this node's address of the family, invalid when unknown.
func (c *computer) localAddr(v4 bool) netip.Prefix {
	if !c.hasLoc {
		return netip.Prefix{}
	}
	return c.local.addr(v4)
}

// addr is the node's bgp.ipv4Address or bgp.ipv6Address.
func (n Node) addr(v4 bool) netip.Prefix {
	if v4 {
		return n.IPv4
	}
	return n.IPv6
}

func family(v4 bool) string {
	if v4 {
		return "IPv4"
	}
	return "IPv6"
}
