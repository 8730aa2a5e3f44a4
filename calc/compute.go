package calc

import (
	"cmp"
	"net/netip"
	"slices"
)

// Compute returns the kernel state this node should hold for s. It changes nothing in s but
// its internal memo of per-node results.
func Compute(s *State) Desired {
	c := newComputer(s)
	d := Desired{}
	d.IPIP = c.ipipDevice()
	d.VXLAN = c.vxlanDevice()
	c.vxlan = d.VXLAN
	d.VTEPs = c.vteps()
	d.Routes = c.routes()
	d.NAT = c.nat()
	d.TunnelSources = c.tunnelSources()
	d.AcceptIPIP = d.IPIP != nil
	d.AcceptVXLAN = d.VXLAN != nil
	d.Sysctls = c.sysctls()
	slices.SortFunc(c.skipped, func(a, b Decision) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Reason, b.Reason))
	})
	d.Skipped = c.skipped
	return d
}

// computer holds what every part of one Compute call needs: the state, the local node and
// the pools sorted most specific first.
type computer struct {
	s       *State
	local   Node
	hasLoc  bool
	pools   []Pool // most specific first, then by address: deterministic lookups
	vxlan   *VXLANDevice
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

func (c *computer) tunnelSources() []netip.Addr {
	// Sorted as integers: far cheaper than comparing netip.Addr values 10,000 times over.
	ips := make([]uint32, 0, len(c.s.Nodes))
	for _, n := range c.s.Nodes {
		if n.IPv4.IsValid() && n.IPv4.Addr().Is4() {
			a := n.IPv4.Addr().As4()
			ips = append(ips, uint32(a[0])<<24|uint32(a[1])<<16|uint32(a[2])<<8|uint32(a[3]))
		}
	}
	slices.Sort(ips)
	ips = slices.Compact(ips)
	out := make([]netip.Addr, len(ips))
	for i, v := range ips {
		out[i] = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return out
}

func (c *computer) sysctls() []Sysctl {
	out := []Sysctl{{Key: "net/ipv4/ip_forward", Value: "1", Reason: "every node routes for its workloads"}}
	for iface := range c.s.Workloads {
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

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

func isEncap(mode string) bool { return mode == ModeAlways || mode == ModeCrossSubnet }

func modeName(mode string) string {
	if mode == "" {
		return ModeNever
	}
	return mode
}
