// Package explain walks a packet's path between two endpoints of the cluster hop by hop,
// as the seed document does by hand (ip route in the container, the veth peer, the host
// route, the encapsulation, the fabric, the decapsulation, the reply), from facts each
// node's agent reports about its own kernel and the datastore's view of the cluster.
//
// It is pure: no netlink, unix, exec or etcd imports. The agent collects Facts
// (dataplane/facts.go), the CLI resolves the endpoints and calls Walk.
package explain

import (
	"net/netip"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
)

// FactsPath is the status socket path that serves a node's Facts (GET).
const FactsPath = "/v1/explain/facts"

// Route protocol numbers (rtnetlink's RTPROT_*, and 80, the number Felix and brindle use).
const (
	ProtoKernel  = 2
	ProtoBoot    = 3
	ProtoStatic  = 4
	ProtoBird    = 12
	ProtoBrindle = 80
)

// Facts is one node's live state as its agent sees it.
type Facts struct {
	Node      string    `json:"node"`
	Collected time.Time `json:"collected"`
	// Address is the node's IPv4 in CIDR form (its BGP address), Uplink the device it is on.
	Address netip.Prefix `json:"address"`
	Uplink  string       `json:"uplink"`
	Links   []Link       `json:"links"`
	Addrs   []Addr       `json:"addrs"`
	Routes  []Route      `json:"routes"` // main table, IPv4
	Neighs  []Neigh      `json:"neighs"`
	// Workloads are the local workload endpoints with what the container's namespace shows.
	Workloads []Workload `json:"workloads"`
	// Desired are the routes calc wants on this node, each with its reason.
	Desired []Route `json:"desired"`
	// VTEPs maps remote VXLAN tunnel addresses to their host addresses (calc's VTEPs).
	VTEPs []VTEP `json:"vteps,omitempty"`
	// MasqPools/AllPools: natOutgoing applies from MasqPools to anything outside AllPools.
	MasqPools []netip.Prefix `json:"masqPools,omitempty"`
	AllPools  []netip.Prefix `json:"allPools,omitempty"`
	// Unresolved BGP next hops and why (dataplane.Unresolved).
	Unresolved map[netip.Addr]string `json:"unresolved,omitempty"`
	BGP        *bgpstatus.Status     `json:"bgp,omitempty"`
	// Ready is the agent's readiness, NotReady the reasons when it is not.
	Ready    bool     `json:"ready"`
	NotReady []string `json:"notReady,omitempty"`
	// Policy is nil when this agent enforces no policy.
	Policy *PolicyFacts `json:"policy,omitempty"`
}

// Link is a network device.
type Link struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Kind  string `json:"kind,omitempty"` // veth, vxlan, ipip, bridge, ...
	MTU   int    `json:"mtu"`
	Up    bool   `json:"up"`
	// PeerIndex is a veth's peer interface index (iflink), in PeerNetNSID's namespace.
	PeerIndex int `json:"peerIndex,omitempty"`
}

// Addr is an address on a device.
type Addr struct {
	Dev    string       `json:"dev"`
	Prefix netip.Prefix `json:"prefix"`
}

// Route is a kernel route, or a desired one (then Reason says why brindle wants it).
type Route struct {
	Dst      netip.Prefix `json:"dst"`
	Type     string       `json:"type"` // unicast, blackhole, unreachable, prohibit, local
	Gw       netip.Addr   `json:"gw,omitzero"`
	Dev      string       `json:"dev,omitempty"`
	OnLink   bool         `json:"onlink,omitempty"`
	Protocol int          `json:"protocol,omitempty"`
	Metric   int          `json:"metric,omitempty"`
	Src      netip.Addr   `json:"src,omitzero"`
	// Recursive (desired only): Gw is a BGP next hop the dataplane resolves.
	Recursive bool   `json:"recursive,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Neigh is a neighbour (ARP) entry.
type Neigh struct {
	Dev   string     `json:"dev"`
	IP    netip.Addr `json:"ip"`
	MAC   string     `json:"mac,omitempty"`
	State string     `json:"state"` // REACHABLE, STALE, FAILED, PERMANENT, ...
}

// VTEP is a remote VXLAN tunnel endpoint.
type VTEP struct {
	Node     string     `json:"node"`
	TunnelIP netip.Addr `json:"tunnelIP"`
	MAC      string     `json:"mac"`
	HostIP   netip.Addr `json:"hostIP"`
}

// Workload is a local workload endpoint: its host-side interface and, when the agent found
// the container's namespace through the veth peer, the container side.
type Workload struct {
	Name  string         `json:"name,omitempty"` // endpoint name when known
	Iface string         `json:"iface"`
	IPs   []netip.Prefix `json:"ips"`
	// Container is nil when the agent could not enter the container's namespace.
	Container    *Container `json:"container,omitempty"`
	ContainerErr string     `json:"containerErr,omitempty"`
}

// Container is what `ip addr`/`ip route` inside the container show.
type Container struct {
	Iface  string  `json:"iface"` // eth0
	MTU    int     `json:"mtu"`
	IfLink int     `json:"iflink"` // /sys/class/net/eth0/iflink: the host side's index
	Addrs  []Addr  `json:"addrs"`
	Routes []Route `json:"routes"`
}

// PolicyFacts is what the agent's policy says about the flow asked for (the facts request
// carries it): a Verdict per local endpoint and direction the flow crosses, from Evaluate
// over the agent's calc/policy Program.
type PolicyFacts struct {
	Enforced bool      `json:"enforced"`
	Verdicts []Verdict `json:"verdicts,omitempty"`
}
