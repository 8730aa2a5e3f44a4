package calc

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
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
	rank int
}

type routeSet map[netip.Prefix]candidate

func (rs routeSet) add(r Route, rank int) {
	old, ok := rs[r.Dst]
	if ok && (old.rank < rank || (old.rank == rank && compareRoute(old.r, r) <= 0)) {
		return
	}
	rs[r.Dst] = candidate{r: r, rank: rank}
}

func compareRoute(a, b Route) int {
	return cmp.Or(cmp.Compare(a.Dev, b.Dev), a.Gw.Compare(b.Gw), cmp.Compare(a.Reason, b.Reason))
}

func (c *computer) routes() []Route {
	rs := routeSet{}
	c.workloadRoutes(rs)
	c.blockRoutes(rs)
	if c.s.RoutesFromBGP {
		c.learnedRoutes(rs)
	}
	out := make([]Route, 0, len(rs))
	for _, cand := range rs {
		out = append(out, cand.r)
	}
	slices.SortFunc(out, func(a, b Route) int { return comparePrefix(a.Dst, b.Dst) })
	return out
}

func (c *computer) workloadRoutes(rs routeSet) {
	for iface, w := range c.s.Workloads {
		for _, ip := range w.IPs {
			if !ip.Addr().Is4() {
				c.skip("workload "+iface+" "+ip.String(), "only IPv4 is programmed")
				continue
			}
			dst := netip.PrefixFrom(ip.Addr(), 32)
			rs.add(Route{Dst: dst, Kind: RouteWorkload, Dev: iface,
				Reason: "local workload on " + iface}, rankWorkload)
		}
	}
}

func (c *computer) blockRoutes(rs routeSet) {
	for _, b := range c.s.Blocks {
		cidr := b.CIDR.Masked()
		pool, inPool := c.poolFor(cidr)
		// With BGP as the route source, only VXLAN pools are routed from block affinities;
		// local blackholes are always ours to program.
		fromDatastore := !c.s.RoutesFromBGP || (inPool && isEncap(pool.VXLANMode))
		switch {
		case b.Node == c.s.NodeName:
			rs.add(Route{Dst: cidr, Kind: RouteBlackhole,
				Reason: "local affine block: unallocated addresses must not leave the node"}, rankBlackhole)
		case b.Node == "":
			// No affinity: only its borrowed addresses are routed.
		case fromDatastore:
			if r, ok := c.routeToNode(cidr, pool, inPool, b.Node, "remote block"); ok {
				rs.add(r, rankRemote)
			}
		}
		if !fromDatastore {
			continue
		}
		for _, bi := range b.Borrowed {
			if bi.Node == c.s.NodeName || bi.Node == "" || bi.Node == b.Node || !bi.Addr.Is4() {
				continue // ours (a workload route covers it) or not borrowed at all
			}
			dst := netip.PrefixFrom(bi.Addr, 32)
			if r, ok := c.routeToNode(dst, pool, inPool, bi.Node, "address borrowed from block "+cidr.String()); ok {
				rs.add(r, rankBorrowed)
			}
		}
	}
}

// learnedRoutes turns BGP-learned paths into routes for non-VXLAN pools (and for prefixes
// outside all pools, which a BGP peer such as a top-of-rack router may send).
func (c *computer) learnedRoutes(rs routeSet) {
	for _, l := range c.s.Learned {
		dst := l.Dst.Masked()
		if !dst.Addr().Is4() || !l.NextHop.Is4() {
			continue
		}
		if c.hasLoc && c.local.IPv4.IsValid() && l.NextHop == c.local.IPv4.Addr() {
			continue // our own advertisement reflected back
		}
		pool, inPool := c.poolFor(dst)
		if inPool && isEncap(pool.VXLANMode) {
			c.skip("learned "+dst.String(), "pool "+pool.CIDR.String()+" uses VXLAN: routed from the datastore")
			continue
		}
		if b, ok := c.s.Blocks[dst]; ok && b.Node == c.s.NodeName {
			continue // our own block: the blackhole stays
		}
		r := c.routeVia(dst, pool, inPool, l.NextHop, "learned route")
		r.FromBGP = true
		rs.add(r, rankRemote)
	}
}

// routeToNode routes dst to the node called name, shaped by the pool's encapsulation.
func (c *computer) routeToNode(dst netip.Prefix, pool Pool, inPool bool, name, what string) (Route, bool) {
	peer, ok := c.s.Nodes[name]
	if !ok || !peer.IPv4.IsValid() {
		c.skip(what+" "+dst.String(), fmt.Sprintf("node %s is unknown or has no IPv4 address", name))
		return Route{}, false
	}
	peerIP := peer.IPv4.Addr()
	if inPool && isEncap(pool.VXLANMode) && !(pool.VXLANMode == ModeCrossSubnet && c.sameSubnet(peerIP)) {
		if c.vxlan == nil {
			c.skip(what+" "+dst.String(), "pool "+pool.CIDR.String()+" needs VXLAN but "+VXLANDeviceName+" is not set up on this node")
			return Route{}, false
		}
		if !peer.VXLANTunnelAddr.Is4() {
			c.skip(what+" "+dst.String(), "node "+name+" has no VXLAN tunnel address yet")
			return Route{}, false
		}
		return Route{Dst: dst, Kind: RouteVia, Dev: VXLANDeviceName, Gw: peer.VXLANTunnelAddr, OnLink: true,
			Reason: fmt.Sprintf("%s via %s: pool %s vxlanMode %s%s", what, VXLANDeviceName, pool.CIDR,
				pool.VXLANMode, c.subnetNote(pool.VXLANMode, peerIP))}, true
	}
	return c.routeVia(dst, pool, inPool, peerIP, what+" of node "+name), true
}

// routeVia is the IPIP or plain route to a gateway that is a node's own address.
func (c *computer) routeVia(dst netip.Prefix, pool Pool, inPool bool, gw netip.Addr, what string) Route {
	if inPool && isEncap(pool.IPIPMode) && !(pool.IPIPMode == ModeCrossSubnet && c.sameSubnet(gw)) {
		return Route{Dst: dst, Kind: RouteVia, Dev: IPIPDeviceName, Gw: gw, OnLink: true,
			Reason: fmt.Sprintf("%s via %s: pool %s ipipMode %s%s", what, IPIPDeviceName, pool.CIDR,
				pool.IPIPMode, c.subnetNote(pool.IPIPMode, gw))}
	}
	why := "no pool covers it"
	if inPool {
		why = fmt.Sprintf("pool %s ipipMode %s vxlanMode %s", pool.CIDR, modeName(pool.IPIPMode), modeName(pool.VXLANMode))
		if pool.IPIPMode == ModeCrossSubnet || pool.VXLANMode == ModeCrossSubnet {
			why += " and peer " + gw.String() + " in this node's subnet"
		}
	}
	return Route{Dst: dst, Kind: RouteVia, Dev: c.s.Uplink, Gw: gw,
		Reason: fmt.Sprintf("%s via %s without encapsulation: %s", what, gw, why)}
}

func (c *computer) subnetNote(mode string, peer netip.Addr) string {
	if mode == ModeCrossSubnet {
		return " and peer " + peer.String() + " in another subnet"
	}
	return ""
}

// sameSubnet is Calico's SameSubnet test: the peer's address is inside the local node's
// bgp.ipv4Address CIDR. An unknown local address counts as another subnet (encapsulate).
func (c *computer) sameSubnet(peer netip.Addr) bool {
	return c.hasLoc && c.local.IPv4.IsValid() && c.local.IPv4.Masked().Contains(peer)
}
