package calc

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// WireGuard defaults, as felix's config_params.go and dataplane/driver.go choose them:
// listening port 51820, device wireguard.cali, routing rule priority 99, routing table 1 (the
// first index of the default routeTableRanges) and, with the default mark mask 0xffff0000,
// the sixth mark bit felix allocates (accept, pass, drop, scratch0, scratch1, wireguard).
// The IPv6 device (felix's second Wireguard instance, ipVersion 6) is wg-v6.cali on port
// 51821 with the next table index, 2; it shares the mark and the rule priority.
const (
	WireguardDefaultIface    = "wireguard.cali"
	WireguardDefaultIfaceV6  = "wg-v6.cali"
	WireguardDefaultPort     = 51820
	WireguardDefaultPortV6   = 51821
	WireguardDefaultPriority = 99
	WireguardTable           = 1
	WireguardTableV6         = 2
	WireguardFwMark          = 0x200000
)

// WireguardFamily holds what differs between the IPv4 and the IPv6 device.
type WireguardFamily struct {
	IPv6  bool
	Iface string // default device name
	Port  int    // default listening port
	Table int
	// Overhead is what the outer IP, UDP (8) and WireGuard (32) headers take from the uplink
	// MTU: felix's wireguardMTU is uplink - 60 for IPv4 (20-byte header), - 80 for IPv6 (40).
	Overhead int
}

// The two families.
var (
	WireguardV4 = WireguardFamily{Iface: WireguardDefaultIface, Port: WireguardDefaultPort, Table: WireguardTable, Overhead: 60}
	WireguardV6 = WireguardFamily{IPv6: true, Iface: WireguardDefaultIfaceV6, Port: WireguardDefaultPortV6, Table: WireguardTableV6, Overhead: 80}
)

// WireguardFamilyOf returns the family's parameters.
func WireguardFamilyOf(v6 bool) WireguardFamily {
	if v6 {
		return WireguardV6
	}
	return WireguardV4
}

// Has reports whether a is an address of the family.
func (f WireguardFamily) Has(a netip.Addr) bool {
	if f.IPv6 {
		return a.Is6() && !a.Is4In6()
	}
	return a.Is4()
}

// Name is "IPv4" or "IPv6" (status and logs).
func (f WireguardFamily) Name() string {
	if f.IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// node's key, device address, host address and tunnel addresses in the family.
func (f WireguardFamily) key(n Node) string {
	if f.IPv6 {
		return n.WireguardPublicKeyV6
	}
	return n.WireguardPublicKey
}

func (f WireguardFamily) addr(n Node) netip.Addr {
	if f.IPv6 {
		return n.WireguardAddrV6
	}
	return n.WireguardAddr
}

func (f WireguardFamily) host(n Node) netip.Prefix {
	if f.IPv6 {
		return n.IPv6
	}
	return n.IPv4
}

func (f WireguardFamily) tunnels(n Node) []netip.Addr {
	if f.IPv6 {
		return []netip.Addr{n.WireguardAddrV6, n.VXLANTunnelAddrV6}
	}
	return []netip.Addr{n.WireguardAddr, n.IPIPTunnelAddr, n.VXLANTunnelAddr}
}

func single(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// WireguardConfig is the FelixConfiguration's WireGuard part with defaults applied.
type WireguardConfig struct {
	Family  WireguardFamily
	Enabled bool
	Iface   string
	Port    int
	MTU     int // 0: uplink - Family.Overhead
	// HostEncryption applies to IPv4 only, as in felix (EncryptHostTraffic && ipVersion == 4).
	RulePriority   int
	HostEncryption bool
	KeepAlive      time.Duration
}

// WireguardPeer is one remote node the device encrypts to.
type WireguardPeer struct {
	Node       string
	PublicKey  string
	Endpoint   netip.AddrPort
	AllowedIPs []netip.Prefix // sorted
}

// WireguardDesired is the WireGuard state one node should hold: the device, its peers, the
// routes in WireguardTable through the device and the rule that sends unmarked traffic to
// that table. Nil means no WireGuard: the device, rule and table routes are removed.
type WireguardDesired struct {
	IPv6         bool
	Iface        string
	Port         int
	MTU          int
	FwMark       uint32
	Table        int
	RulePriority int
	KeepAlive    time.Duration
	Addr         netip.Addr // the device's address (/32 or /128); invalid until allocated
	Peers        []WireguardPeer
	Routes       []netip.Prefix // via the device in Table, sorted
	// Throw are /32s inside Routes that must not enter the device: addresses this node, or a
	// node without WireGuard, borrowed from a peer's block. A throw route sends the lookup on
	// to the main table (felix's wireguard route table holds the same).
	Throw []netip.Prefix
	// Reasons says, per peerless node, why it gets no encryption (status and logs).
	Reasons []Decision
}

// ComputeWireguard derives the state of cfg.Family's device from s (pure). Remote nodes are
// peers once they publish a public key of the family; their blocks, borrowed addresses and
// tunnel addresses of the family become the peer's allowed IPs and routes in the family's
// WireGuard table, as felix's wireguard.go builds them from its route and node updates (one
// instance per IP version). Nodes without a key keep the main table's routes (unencrypted),
// as Calico does for nodes that run no WireGuard.
func ComputeWireguard(s *State, cfg WireguardConfig) *WireguardDesired {
	if !cfg.Enabled {
		return nil
	}
	f := cfg.Family
	if f.Table == 0 {
		f = WireguardFamilyOf(f.IPv6)
	}
	d := &WireguardDesired{IPv6: f.IPv6, Iface: cmp.Or(cfg.Iface, f.Iface), Port: cmp.Or(cfg.Port, f.Port),
		MTU: cfg.MTU, FwMark: WireguardFwMark, Table: f.Table, RulePriority: cmp.Or(cfg.RulePriority, WireguardDefaultPriority),
		KeepAlive: cfg.KeepAlive}
	if d.MTU <= 0 {
		d.MTU = cmp.Or(s.UplinkMTU, 1500) - f.Overhead
	}
	if me, ok := s.Nodes[s.NodeName]; ok {
		d.Addr = f.addr(me)
	}
	allowed := map[string][]netip.Prefix{}
	var borrowed []BorrowedIP // from other nodes' blocks, by this node or another
	for _, b := range s.Blocks {
		if !f.Has(b.CIDR.Addr()) {
			continue
		}
		if b.Node != "" && b.Node != s.NodeName {
			allowed[b.Node] = append(allowed[b.Node], b.CIDR.Masked())
		}
		for _, bi := range b.Borrowed {
			if bi.Node == "" || bi.Node == b.Node || !f.Has(bi.Addr) {
				continue
			}
			if b.Node != s.NodeName {
				borrowed = append(borrowed, bi)
			}
			if bi.Node != s.NodeName {
				allowed[bi.Node] = append(allowed[bi.Node], single(bi.Addr))
			}
		}
	}
	for _, n := range s.Nodes {
		if n.Name == s.NodeName {
			continue
		}
		switch {
		case f.key(n) == "":
			d.Reasons = append(d.Reasons, Decision{Subject: n.Name, Reason: "no " + f.Name() + " WireGuard public key: traffic to it is not encrypted"})
			continue
		case !f.host(n).IsValid():
			d.Reasons = append(d.Reasons, Decision{Subject: n.Name, Reason: "no " + f.Name() + " address for the WireGuard endpoint"})
			continue
		}
		ips := allowed[n.Name]
		for _, a := range f.tunnels(n) {
			if f.Has(a) {
				ips = append(ips, single(a))
			}
		}
		if cfg.HostEncryption && !f.IPv6 {
			ips = append(ips, single(n.IPv4.Addr()))
		}
		slices.SortFunc(ips, comparePrefix)
		ips = slices.Compact(ips)
		d.Peers = append(d.Peers, WireguardPeer{Node: n.Name, PublicKey: f.key(n),
			Endpoint: netip.AddrPortFrom(f.host(n).Addr(), uint16(d.Port)), AllowedIPs: ips})
		d.Routes = append(d.Routes, ips...)
	}
	slices.SortFunc(d.Peers, func(a, b WireguardPeer) int { return cmp.Compare(a.Node, b.Node) })
	slices.SortFunc(d.Routes, comparePrefix)
	d.Routes = slices.Compact(d.Routes)
	peer := map[string]bool{}
	for _, p := range d.Peers {
		peer[p.Node] = true
	}
	for _, bi := range borrowed {
		if !peer[bi.Node] { // this node's own, or a node without a key: not through the device
			d.Throw = append(d.Throw, single(bi.Addr))
		}
	}
	slices.SortFunc(d.Throw, comparePrefix)
	d.Throw = slices.Compact(d.Throw)
	slices.SortFunc(d.Reasons, compareDecision)
	return d
}
