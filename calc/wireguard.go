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
const (
	WireguardDefaultIface    = "wireguard.cali"
	WireguardDefaultPort     = 51820
	WireguardDefaultPriority = 99
	WireguardTable           = 1
	WireguardFwMark          = 0x200000
	// wireguardOverhead is what the outer IPv4 (20), UDP (8) and WireGuard (32) headers
	// take from the uplink MTU (felix's wireguardMTU: uplink - 60 for IPv4).
	wireguardOverhead = 60
)

// WireguardConfig is the FelixConfiguration's WireGuard part with defaults applied.
type WireguardConfig struct {
	Enabled        bool
	Iface          string
	Port           int
	MTU            int // 0: uplink - 60
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
	Iface        string
	Port         int
	MTU          int
	FwMark       uint32
	Table        int
	RulePriority int
	KeepAlive    time.Duration
	Addr         netip.Addr // the device's address (/32); invalid until allocated
	Peers        []WireguardPeer
	Routes       []netip.Prefix // via the device in Table, sorted
	// Throw are /32s inside Routes that must not enter the device: addresses this node, or a
	// node without WireGuard, borrowed from a peer's block. A throw route sends the lookup on
	// to the main table (felix's wireguard route table holds the same).
	Throw []netip.Prefix
	// Reasons says, per peerless node, why it gets no encryption (status and logs).
	Reasons []Decision
}

// ComputeWireguard derives the WireGuard state from s (pure). Remote nodes are peers once
// they publish a public key; their IPv4 blocks, borrowed addresses and tunnel addresses
// become the peer's allowed IPs and routes in the WireGuard table, as felix's
// wireguard.go builds them from its route and node updates. Nodes without a key keep the
// main table's routes (unencrypted), as Calico does for nodes that run no WireGuard.
func ComputeWireguard(s *State, cfg WireguardConfig) *WireguardDesired {
	if !cfg.Enabled {
		return nil
	}
	d := &WireguardDesired{Iface: cmp.Or(cfg.Iface, WireguardDefaultIface), Port: cmp.Or(cfg.Port, WireguardDefaultPort),
		MTU: cfg.MTU, FwMark: WireguardFwMark, Table: WireguardTable, RulePriority: cmp.Or(cfg.RulePriority, WireguardDefaultPriority),
		KeepAlive: cfg.KeepAlive}
	if d.MTU <= 0 {
		d.MTU = cmp.Or(s.UplinkMTU, 1500) - wireguardOverhead
	}
	if me, ok := s.Nodes[s.NodeName]; ok {
		d.Addr = me.WireguardAddr
	}
	allowed := map[string][]netip.Prefix{}
	var borrowed []BorrowedIP // from other nodes' blocks, by this node or another
	for _, b := range s.Blocks {
		if !b.CIDR.Addr().Is4() {
			continue
		}
		if b.Node != "" && b.Node != s.NodeName {
			allowed[b.Node] = append(allowed[b.Node], b.CIDR.Masked())
		}
		for _, bi := range b.Borrowed {
			if bi.Node != "" && bi.Node != b.Node && bi.Addr.Is4() && b.Node != s.NodeName {
				borrowed = append(borrowed, bi)
			}
			if bi.Node != "" && bi.Node != s.NodeName && bi.Node != b.Node && bi.Addr.Is4() {
				allowed[bi.Node] = append(allowed[bi.Node], netip.PrefixFrom(bi.Addr, 32))
			}
		}
	}
	for _, n := range s.Nodes {
		if n.Name == s.NodeName {
			continue
		}
		switch {
		case n.WireguardPublicKey == "":
			d.Reasons = append(d.Reasons, Decision{Subject: n.Name, Reason: "no WireGuard public key: traffic to it is not encrypted"})
			continue
		case !n.IPv4.IsValid():
			d.Reasons = append(d.Reasons, Decision{Subject: n.Name, Reason: "no IPv4 address for the WireGuard endpoint"})
			continue
		}
		ips := allowed[n.Name]
		for _, a := range []netip.Addr{n.WireguardAddr, n.IPIPTunnelAddr, n.VXLANTunnelAddr} {
			if a.Is4() {
				ips = append(ips, netip.PrefixFrom(a, 32))
			}
		}
		if cfg.HostEncryption {
			ips = append(ips, netip.PrefixFrom(n.IPv4.Addr(), 32))
		}
		slices.SortFunc(ips, comparePrefix)
		ips = slices.Compact(ips)
		d.Peers = append(d.Peers, WireguardPeer{Node: n.Name, PublicKey: n.WireguardPublicKey,
			Endpoint: netip.AddrPortFrom(n.IPv4.Addr(), uint16(d.Port)), AllowedIPs: ips})
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
			d.Throw = append(d.Throw, netip.PrefixFrom(bi.Addr, 32))
		}
	}
	slices.SortFunc(d.Throw, comparePrefix)
	d.Throw = slices.Compact(d.Throw)
	slices.SortFunc(d.Reasons, compareDecision)
	return d
}
