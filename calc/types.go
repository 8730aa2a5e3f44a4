// Package calc turns the datastore's view of the cluster into the kernel state one node
// should hold: routes, tunnel devices, VXLAN neighbours and FDB entries, NAT sets, the
// addresses allowed to send tunnelled traffic, and sysctls.
//
// It is pure: no netlink, unix, exec, etcd or store imports (imports_test.go keeps it so),
// and Compute's output depends only on the State it is given, never on the order in which
// the State was built. Every decision carries a reason string that logs and status print.
package calc

import (
	"net"
	"net/netip"
)

// Encapsulation modes of an IP pool, spelled as Calico spells ipipMode and vxlanMode.
const (
	ModeNever       = "Never"
	ModeAlways      = "Always"
	ModeCrossSubnet = "CrossSubnet"
)

// Node is what calc needs from a Node resource.
type Node struct {
	Name string
	// IPv4 is spec.bgp.ipv4Address in CIDR form (e.g. 10.0.1.5/24); its masked prefix is the
	// node's subnet, which decides CrossSubnet.
	IPv4 netip.Prefix
	// IPv6 is spec.bgp.ipv6Address in CIDR form; IPv6 blocks are routed to it, and its
	// masked prefix decides CrossSubnet for IPv6 pools.
	IPv6            netip.Prefix
	IPIPTunnelAddr  netip.Addr
	VXLANTunnelAddr netip.Addr
	// VXLANMAC is spec.vxlanTunnelMACAddr; empty means derive it from the name as Calico does.
	VXLANMAC net.HardwareAddr
	// VXLANTunnelAddrV6 and VXLANMACV6 are spec.ipv6VXLANTunnelAddr and
	// spec.vxlanTunnelMACAddrV6, for vxlan-v6.calico.
	VXLANTunnelAddrV6 netip.Addr
	VXLANMACV6        net.HardwareAddr
	// WireguardPublicKey is status.wireguardPublicKey (base64; empty: the node runs no
	// WireGuard) and WireguardAddr spec.wireguard.interfaceIPv4Address.
	WireguardPublicKey string
	WireguardAddr      netip.Addr
	// WireguardPublicKeyV6 and WireguardAddrV6 are the IPv6 device's: status.wireguardPublicKeyV6
	// and spec.wireguard.interfaceIPv6Address (felix runs a second device for IPv6).
	WireguardPublicKeyV6 string
	WireguardAddrV6      netip.Addr
}

// Pool is what calc needs from an IPPool resource.
type Pool struct {
	CIDR        netip.Prefix
	IPIPMode    string // Never (or empty), Always, CrossSubnet
	VXLANMode   string // Never (or empty), Always, CrossSubnet
	NATOutgoing bool
	Disabled    bool
	BlockSize   int
}

// Block is an IPAM block: its CIDR, the node it is affine to (empty when it has no
// affinity), and the addresses in it that a node other than the affine one holds.
type Block struct {
	CIDR     netip.Prefix
	Node     string
	Borrowed []BorrowedIP
}

// BorrowedIP is an address of a block allocated to a workload on Node, a node that is not
// the block's affine node. Its /32 must be routed to Node, not to the block's owner.
type BorrowedIP struct {
	Addr netip.Addr
	Node string
}

// LocalWorkload is a workload endpoint on this node: its host-side interface and addresses.
type LocalWorkload struct {
	Iface string
	IPs   []netip.Prefix
}

// LearnedRoute is a route the BGP speaker learned: destination and the peer's next hop.
type LearnedRoute struct {
	Dst     netip.Prefix
	NextHop netip.Addr
}
