package calc

import (
	"net"
	"net/netip"
)

// Device names and VXLAN parameters Calico uses; kept identical so that tooling and habits
// carry over.
const (
	IPIPDeviceName  = "tunl0"
	VXLANDeviceName = "vxlan.calico"
	VXLANVNI        = 4096
	VXLANPort       = 4789
	// Header overheads subtracted from the uplink MTU (Calico's ConfigureDefaultMTUs).
	IPIPOverhead  = 20
	VXLANOverhead = 50
	defaultMTU    = 1500
)

// RouteKind says how a route is shaped in the kernel.
type RouteKind int

const (
	// RouteWorkload: <ip>/32 dev <cali iface> scope link.
	RouteWorkload RouteKind = iota
	// RouteBlackhole: blackhole <block>, so that unallocated addresses of a local block are
	// not sent back out of the default route.
	RouteBlackhole
	// RouteVia: <dst> via <Gw> dev <Dev> [onlink].
	RouteVia
)

func (k RouteKind) String() string {
	switch k {
	case RouteWorkload:
		return "workload"
	case RouteBlackhole:
		return "blackhole"
	case RouteVia:
		return "via"
	}
	return "unknown"
}

// Route is one desired route in the main table.
type Route struct {
	Dst    netip.Prefix
	Kind   RouteKind
	Dev    string     // empty for blackholes
	Gw     netip.Addr // only for RouteVia
	OnLink bool
	// FromBGP marks routes that Calico's BIRD would program: BGP-learned paths, and in BGP
	// mode the local blackholes. The dataplane tags them `proto bird` (12), as on a Calico node.
	FromBGP bool
	// Recursive: Gw is a BGP next hop that need not be on a connected subnet, and Dev is
	// empty. The dataplane resolves it through the kernel's own route to Gw and installs
	// the route via the gateway and device that route gives (BIRD's `gateway recursive`,
	// which Calico's bird.cfg.template sets for every BGP peer).
	Recursive bool
	Reason    string
}

// IPIPDevice is the desired tunl0.
type IPIPDevice struct {
	Name   string
	MTU    int
	Addr   netip.Addr // invalid when the node has no IPIP tunnel address yet
	Reason string
}

// VXLANDevice is the desired vxlan.calico.
type VXLANDevice struct {
	Name    string
	VNI     int
	Port    int
	MTU     int
	MAC     net.HardwareAddr
	Addr    netip.Addr // the node's ipv4VXLANTunnelAddr, programmed as /32
	Parent  string     // uplink device
	SrcAddr netip.Addr // the node's own IPv4, the outer source
	Reason  string
}

// VTEP is a remote VXLAN tunnel endpoint: a permanent neighbour TunnelIP -> MAC and an FDB
// entry MAC -> HostIP on vxlan.calico.
type VTEP struct {
	Node     string
	TunnelIP netip.Addr
	MAC      net.HardwareAddr
	HostIP   netip.Addr
	Reason   string
}

// NAT holds the prefix sets of the natOutgoing rule: traffic from MasqPools to anything
// outside AllPools is masqueraded.
type NAT struct {
	AllPools  []netip.Prefix
	MasqPools []netip.Prefix
}

// Sysctl is one desired /proc/sys value, Key in dotted form (net.ipv4.ip_forward).
type Sysctl struct {
	Key    string
	Value  string
	Reason string
}

// Decision records something Compute chose not to program, and why.
type Decision struct {
	Subject string
	Reason  string
}

// Desired is the complete kernel state this node should hold. Slices are sorted, so two
// Desired values for equal States are deep-equal.
type Desired struct {
	Routes []Route // sorted by Dst
	IPIP   *IPIPDevice
	VXLAN  *VXLANDevice
	VTEPs  []VTEP // sorted by TunnelIP
	// VXLANV6 is vxlan-v6.calico and VTEPsV6 its remote VTEPs (sorted by TunnelIP; not
	// covered by Delta).
	VXLANV6 *VXLANDevice
	VTEPsV6 []VTEP
	// TunnelSourcesV6 are the nodes' IPv6 addresses VXLAN over IPv6 is accepted from, and
	// AcceptVXLANV6 says vxlan-v6.calico is in use (sorted; not covered by Delta).
	TunnelSourcesV6 []netip.Addr
	AcceptVXLANV6   bool
	NAT             NAT
	// TunnelSources are the node addresses IPIP and VXLAN packets are accepted from.
	TunnelSources []netip.Addr
	// AcceptIPIP/AcceptVXLAN: encapsulation in use, so the dataplane accepts it from
	// TunnelSources only and drops it from anywhere else.
	AcceptIPIP  bool
	AcceptVXLAN bool
	Sysctls     []Sysctl // sorted by Key
	Skipped     []Decision
	// Delta says what changed since the previous Compute of the same State. It is the only
	// part of a Desired that depends on history (two equal States give Desired values that
	// are deep-equal apart from it).
	Delta *Delta
}

// Delta lets a consumer that keeps the previous result (the dataplane) look at the few
// entries a change touched instead of comparing 10,000 of them.
type Delta struct {
	// Seq identifies this result, Prev the one before it from the same State (unique across
	// States, so results of two States are never mistaken for one another).
	Seq, Prev uint64
	// Full: no delta is known (first result, or everything was derived again); compare all.
	Full bool
	// Keys whose entry may have been added, changed or removed since Prev, sorted.
	Routes []netip.Prefix
	VTEPs  []netip.Addr // by tunnel address
	Hosts  []netip.Addr // TunnelSources
}
