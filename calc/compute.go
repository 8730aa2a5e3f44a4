package calc

import (
	"bytes"
	"cmp"
	"net/netip"
	"slices"
	"sync/atomic"
)

// Compute returns the kernel state this node should hold for s. It changes nothing in s but
// its internal memo of per-node results.
//
// Only the inputs changed since the previous Compute (through State's methods) are derived
// again; the result is the same as a computation from scratch (order_test.go checks this
// over random sequences of changes). Returned slices are shared with later results and must
// not be modified.
func Compute(s *State) Desired {
	c := newComputer(s)
	d := Desired{}
	d.IPIP = c.ipipDevice()
	d.VXLAN = c.vxlanDevice(false)
	c.vxlan = d.VXLAN
	d.VXLANV6 = c.vxlanDevice(true)
	c.vxlan6 = d.VXLANV6
	c.deriveChanged()
	inc := &c.memo.inc
	inc.chRoutes = slices.CompactFunc(slices.SortedFunc(slices.Values(inc.chRoutes), comparePrefix), func(a, b netip.Prefix) bool { return a == b })
	inc.chVTEPs, inc.chHosts = sortCompact(inc.chVTEPs), sortCompact(inc.chHosts)
	d.Delta = c.delta()
	inc.routes = c.resolveRoutes()
	inc.vteps = c.resolveVTEPs()
	inc.hosts = mergeSorted(inc.hosts, inc.chHosts, func(a netip.Addr) uint64 { return uint64(addrU32(a)) }, cmp.Compare[uint64],
		func(k uint64) (netip.Addr, bool) {
			v := uint32(k)
			return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), inc.hostRefs[v] > 0
		})
	inc.skips = mergeSkips(inc.skips, inc.skipDel, inc.skipAdd)
	// Fresh scratch each time: merged outputs may share the old backing arrays.
	inc.chRoutes, inc.chVTEPs, inc.chHosts, inc.skipAdd, inc.skipDel = nil, nil, nil, nil, nil
	c.memo.full, inc.fresh = false, false
	if !c.memo.dirty.empty() {
		c.memo.dirty = newDirtySet()
	}

	d.Routes = inc.routes
	if d.VXLAN != nil {
		d.VTEPs = inc.vteps
	}
	if d.VXLANV6 != nil {
		d.VTEPsV6, d.TunnelSourcesV6 = c.vtepsV6(), c.hostsV6()
		d.AcceptVXLANV6 = true
	}
	d.NAT = c.nat()
	d.TunnelSources = inc.hosts
	d.AcceptIPIP = d.IPIP != nil
	d.AcceptVXLAN = d.VXLAN != nil
	d.Sysctls = c.sysctls()
	slices.SortFunc(c.skipped, compareDecision)
	d.Skipped = mergeDecisions(c.skipped, inc.skips)
	return d
}

// seq numbers results across all States.
var seq atomic.Uint64

// delta lists the keys derived again in this Compute, taken before the merges consume them.
func (c *computer) delta() *Delta {
	m, inc := c.memo, &c.memo.inc
	d := &Delta{Seq: seq.Add(1), Prev: m.lastSeq, Full: m.full}
	m.lastSeq = d.Seq
	if d.Full {
		return d
	}
	d.Routes = slices.Clone(inc.chRoutes)
	d.VTEPs = make([]netip.Addr, len(inc.chVTEPs))
	for i, k := range inc.chVTEPs {
		d.VTEPs[i] = addrFromKey(k)
	}
	d.Hosts = make([]netip.Addr, len(inc.chHosts))
	for i, k := range inc.chHosts {
		d.Hosts[i] = addrFromKey(k << 16)
	}
	return d
}

func sortCompact(ks []uint64) []uint64 {
	slices.Sort(ks)
	return slices.Compact(ks)
}

// deriveChanged re-derives the inputs changed since the last Compute (all of them when the
// memo is fresh). A node's change re-derives the blocks routed to it; a block's change, the
// learned route for the same prefix (a local block keeps its blackhole).
func (c *computer) deriveChanged() {
	m, s := c.memo, c.s
	if m.full {
		for name := range s.Nodes {
			c.node(name)
		}
		for cidr := range s.Blocks {
			c.block(cidr)
		}
		for dst := range s.Learned {
			c.learned(dst)
		}
		for iface := range s.Workloads {
			c.workload(iface)
		}
		return
	}
	for name := range m.dirty.nodes {
		c.node(name)
		for _, cidr := range m.inc.users[name] {
			m.dirty.blocks[cidr] = struct{}{}
		}
	}
	for cidr := range m.dirty.blocks {
		c.block(cidr)
		m.dirty.learned[cidr] = struct{}{}
	}
	for dst := range m.dirty.learned {
		c.learned(dst)
	}
	for iface := range m.dirty.works {
		c.workload(iface)
	}
}

func (c *computer) node(name string) {
	k := c.memo.inc.begin(srcID{kind: srcNode, name: name})
	if n, ok := c.s.Nodes[name]; ok {
		c.deriveNode(k, n)
	}
	c.memo.inc.commit(k)
}

func (c *computer) block(cidr netip.Prefix) {
	k := c.memo.inc.begin(srcID{kind: srcBlock, pfx: cidr})
	if b, ok := c.s.Blocks[cidr]; ok {
		c.deriveBlock(k, b)
	}
	c.memo.inc.commit(k)
}

func (c *computer) learned(dst netip.Prefix) {
	k := c.memo.inc.begin(srcID{kind: srcLearned, pfx: dst})
	if l, ok := c.s.Learned[dst]; ok && c.s.RoutesFromBGP {
		c.deriveLearned(k, l)
	}
	c.memo.inc.commit(k)
}

func (c *computer) workload(iface string) {
	k := c.memo.inc.begin(srcID{kind: srcWorkload, name: iface})
	if w, ok := c.s.Workloads[iface]; ok {
		c.deriveWorkload(k, w)
	}
	c.memo.inc.commit(k)
}

// computer holds what every part of one Compute call needs: the state, the local node and
// the pools sorted most specific first.
type computer struct {
	s       *State
	local   Node
	hasLoc  bool
	pools   []Pool // most specific first, then by address: deterministic lookups
	vxlan   *VXLANDevice
	vxlan6  *VXLANDevice
	skipped []Decision
	memo    *memo
}

func newComputer(s *State) *computer {
	c := &computer{s: s, memo: s.memoFor()}
	c.local, c.hasLoc = s.Nodes[s.NodeName]
	for _, p := range s.Pools {
		c.pools = append(c.pools, p)
	}
	slices.SortFunc(c.pools, func(a, b Pool) int {
		return cmp.Or(cmp.Compare(b.CIDR.Bits(), a.CIDR.Bits()), a.CIDR.Addr().Compare(b.CIDR.Addr()))
	})
	return c
}

func (c *computer) skip(subject, reason string) {
	c.skipped = append(c.skipped, Decision{Subject: subject, Reason: reason})
}

// poolFor returns the most specific pool containing p.
func (c *computer) poolFor(p netip.Prefix) (Pool, bool) {
	for _, pool := range c.pools {
		if pool.CIDR.Bits() <= p.Bits() && pool.CIDR.Contains(p.Addr()) {
			return pool, true
		}
	}
	return Pool{}, false
}

func (c *computer) uplinkMTU() int {
	if c.s.UplinkMTU > 0 {
		return c.s.UplinkMTU
	}
	return defaultMTU
}

func (c *computer) nat() NAT {
	var n NAT
	for _, p := range c.pools {
		// Disabled pools stay in both sets, as in Calico: disabling stops new allocations,
		// while workloads already holding addresses keep their connectivity.
		n.AllPools = append(n.AllPools, p.CIDR.Masked())
		if p.NATOutgoing {
			n.MasqPools = append(n.MasqPools, p.CIDR.Masked())
		}
	}
	slices.SortFunc(n.AllPools, comparePrefix)
	slices.SortFunc(n.MasqPools, comparePrefix)
	return n
}

func (c *computer) sysctls() []Sysctl {
	out := []Sysctl{{Key: "net/ipv4/ip_forward", Value: "1", Reason: "every node routes for its workloads"}}
	for _, p := range c.pools {
		if p.CIDR.Addr().Is6() {
			// Felix sets it whenever IPv6 is in use; without it IPv6 workloads are not routed.
			out = append(out, Sysctl{Key: "net/ipv6/conf/all/forwarding", Value: "1", Reason: "IPv6 pool " + p.CIDR.String() + " is routed"})
			break
		}
	}
	for iface, w := range c.s.Workloads {
		if slices.ContainsFunc(w.IPs, func(p netip.Prefix) bool { return p.Addr().Is6() && !p.Addr().Is4In6() }) {
			// The CNI plugin sets these (Calico's cni-plugin dataplane_linux.go); re-asserted
			// like the IPv4 ones: the host answers neighbour solicitations for the gateway.
			out = append(out,
				Sysctl{Key: "net/ipv6/conf/" + iface + "/proxy_ndp", Value: "1", Reason: "workload " + iface + " answers NDP for its gateway"},
				Sysctl{Key: "net/ipv6/conf/" + iface + "/forwarding", Value: "1", Reason: "workload " + iface + " is routed over IPv6"},
			)
		}
		// Re-asserted by the agent (as Felix does) so that a workload interface whose setup
		// was interrupted still answers ARP for the gateway 169.254.1.1.
		out = append(out,
			Sysctl{Key: "net/ipv4/conf/" + iface + "/proxy_arp", Value: "1", Reason: "workload " + iface + " answers ARP for its gateway"},
			Sysctl{Key: "net/ipv4/conf/" + iface + "/forwarding", Value: "1", Reason: "workload " + iface + " is routed"},
		)
	}
	slices.SortFunc(out, func(a, b Sysctl) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// comparePrefix orders prefixes by address (IPv4 before IPv6), then length, as
// netip.Addr.Compare does; route keys are compared this way on every merge and sort, so
// it skips Addr.Compare's zone lookup (prefixes carry no zone) and compares IPv4 addresses
// as one integer.
func comparePrefix(a, b netip.Prefix) int {
	aa, ba := a.Addr(), b.Addr()
	if a4, b4 := aa.Is4(), ba.Is4(); a4 && b4 {
		if c := cmp.Compare(addrU32(aa), addrU32(ba)); c != 0 {
			return c
		}
		return cmp.Compare(a.Bits(), b.Bits())
	} else if a4 != b4 {
		return cmp.Compare(aa.BitLen(), ba.BitLen())
	}
	x, y := aa.As16(), ba.As16()
	if c := bytes.Compare(x[:], y[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func isEncap(mode string) bool { return mode == ModeAlways || mode == ModeCrossSubnet }

func modeName(mode string) string {
	if mode == "" {
		return ModeNever
	}
	return mode
}
