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

// routeList collects candidates; sorting by destination then rank resolves collisions
// without a map (10,000 routes per Compute: allocation matters).
type routeList []candidate

func (rl *routeList) add(r Route, rank int) { *rl = append(*rl, candidate{r: r, rank: rank}) }

func compareRoute(a, b Route) int {
	return cmp.Or(cmp.Compare(a.Dev, b.Dev), a.Gw.Compare(b.Gw), cmp.Compare(a.Reason, b.Reason))
}

func (c *computer) routes() []Route {
	rl := make(routeList, 0, len(c.s.Blocks)+len(c.s.Workloads)+len(c.s.Learned))
	c.workloadRoutes(&rl)
	c.blockRoutes(&rl)
	if c.s.RoutesFromBGP {
		c.learnedRoutes(&rl)
	}
	// Sort small pointer-free keys rather than the routes themselves: moving 10,000 structs
	// that hold strings costs more than everything else Compute does.
	keys := make([]sortKey, len(rl))
	for i, cand := range rl {
		keys[i] = sortKey{dst: prefixKey(cand.r.Dst), rank: int32(cand.rank), idx: int32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		// Not cmp.Or: it would evaluate the string comparison for every pair.
		if a.dst != b.dst {
			return cmp.Compare(a.dst, b.dst)
		}
		if a.rank != b.rank {
			return cmp.Compare(a.rank, b.rank)
		}
		return compareRoute(rl[a.idx].r, rl[b.idx].r)
	})
	out := make([]Route, 0, len(rl))
	for i, k := range keys {
		if i > 0 && keys[i-1].dst == k.dst {
			continue // lost to a higher-precedence route for the same destination
		}
		out = append(out, rl[k.idx].r)
	}
	return out
}

type sortKey struct {
	dst  uint64
	rank int32
	idx  int32
}

// prefixKey orders IPv4 prefixes as comparePrefix does: address, then length.
func prefixKey(p netip.Prefix) uint64 {
	a := p.Addr().As4()
	return uint64(a[0])<<40 | uint64(a[1])<<32 | uint64(a[2])<<24 | uint64(a[3])<<16 | uint64(p.Bits())
}

func (c *computer) workloadRoutes(rs *routeList) {
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

func (c *computer) blockRoutes(rs *routeList) {
	for _, b := range c.s.Blocks {
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
func (c *computer) learnedRoutes(rs *routeList) {
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
		k := tmplKey{what: "learned route", pool: pool.CIDR, inPool: inPool, gw: l.NextHop}
		t := c.template("", k, func() template {
			t := template{r: c.routeVia(pool, inPool, l.NextHop, "learned route"), ok: true}
			t.r.FromBGP = true
			return t
		})
		r := t.r
		r.Dst = dst
		rs.add(r, rankRemote)
	}
}

// tmplKey identifies a route shape that does not depend on the destination: every block of
// one node in one pool routes the same way, so the shape and its reason are built once.
type tmplKey struct {
	what   string
	pool   netip.Prefix
	inPool bool
	node   string
	gw     netip.Addr
}

type template struct {
	r   Route
	ok  bool
	why string
}

// routeToNode routes dst to the node called name, shaped by the pool's encapsulation.
func (c *computer) routeToNode(dst netip.Prefix, pool Pool, inPool bool, name, what string) (Route, bool) {
	k := tmplKey{what: what, pool: pool.CIDR, inPool: inPool, node: name}
	t := c.template(name, k, func() template { return c.nodeTemplate(pool, inPool, name, what) })
	if !t.ok {
		c.skip(what+" "+dst.String(), t.why)
		return Route{}, false
	}
	r := t.r
	r.Dst = dst
	return r, true
}

func (c *computer) nodeTemplate(pool Pool, inPool bool, name, what string) template {
	peer, ok := c.s.Nodes[name]
	if !ok || !peer.IPv4.IsValid() {
		return template{why: fmt.Sprintf("node %s is unknown or has no IPv4 address", name)}
	}
	peerIP := peer.IPv4.Addr()
	if inPool && isEncap(pool.VXLANMode) && !(pool.VXLANMode == ModeCrossSubnet && c.sameSubnet(peerIP)) {
		if c.vxlan == nil {
			return template{why: "pool " + pool.CIDR.String() + " needs VXLAN but " + VXLANDeviceName + " is not set up on this node"}
		}
		if !peer.VXLANTunnelAddr.Is4() {
			return template{why: "node " + name + " has no VXLAN tunnel address yet"}
		}
		return template{ok: true, r: Route{Kind: RouteVia, Dev: VXLANDeviceName, Gw: peer.VXLANTunnelAddr, OnLink: true,
			Reason: fmt.Sprintf("%s via %s: pool %s vxlanMode %s%s", what, VXLANDeviceName, pool.CIDR,
				pool.VXLANMode, c.subnetNote(pool.VXLANMode, peerIP))}}
	}
	return template{ok: true, r: c.routeVia(pool, inPool, peerIP, what+" of node "+name)}
}

// routeVia is the IPIP or plain route (without destination) to a gateway that is a node's
// own address.
func (c *computer) routeVia(pool Pool, inPool bool, gw netip.Addr, what string) Route {
	if inPool && isEncap(pool.IPIPMode) && !(pool.IPIPMode == ModeCrossSubnet && c.sameSubnet(gw)) {
		return Route{Kind: RouteVia, Dev: IPIPDeviceName, Gw: gw, OnLink: true,
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
	return Route{Kind: RouteVia, Dev: c.s.Uplink, Gw: gw,
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
