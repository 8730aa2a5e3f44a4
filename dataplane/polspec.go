package dataplane

import (
	"net/netip"
)

// PolicySpec is what the policy reconciler programs into the `ip brindle` table: named
// sets, one chain per policy or profile and direction, and per workload interface the
// order in which tiers, policies and profiles apply. The agent builds it from calc/policy's
// Program (see node/policy.go); the names of sets and chains are the model's, prefixed here.
type PolicySpec struct {
	Sets      map[string]PolSet      // by set name
	Chains    map[string]PolChain    // policy and profile chains by chain name
	Endpoints map[string]PolEndpoint // by workload interface name
	// ToHost is FelixConfiguration defaultEndpointToHostAction: Drop (Calico's default),
	// Accept or Return (continue with the host's other rules).
	ToHost string
	// DropInvalid drops conntrack state invalid (not disableConntrackInvalidCheck).
	DropInvalid bool
	// AllowIPIP / AllowVXLAN: IPIP packets and UDP to VXLANPort from workloads are dropped
	// before any policy unless allowed (FelixConfiguration allow*PacketsFromWorkloads).
	AllowIPIP, AllowVXLAN bool
	VXLANPort             uint16
	// HostEndpoints by interface name ("*": every interface but lo and workloads, for traffic
	// to and from the host). See docs/dataplane.md "Host endpoints".
	HostEndpoints map[string]PolHostEndpoint
	// FailsafeIn / FailsafeOut are accepted before any host endpoint policy, in every hook
	// (only written while there is a host endpoint).
	FailsafeIn, FailsafeOut []PolFailsafe
	// HostIPIP / HostVXLAN: accept IPIP / UDP to VXLANPort in the host input and output
	// hooks before host endpoint policy (an IP pool uses that encapsulation).
	HostIPIP, HostVXLAN bool
	// V6 renders the spec into `ip6 brindle` (IPv6 addresses, nets and sets only; no host
	// endpoints); see SpecFromProgram6.
	V6 bool
}

// PolHostEndpoint is what applies to one host interface, per hook: Ingress/Egress to and
// from the host (profiles, end drop), FwdIn/FwdOut for forwarded packets in from / out to it
// (applyOnForward; no verdict when nothing decides), PreDNAT before DNAT, RawIn/RawOut before
// conntrack (doNotTrack: Allow is notrack and accept).
type PolHostEndpoint struct {
	Ingress, Egress, FwdIn, FwdOut, PreDNAT, RawIn, RawOut PolDirection
}

// PolFailsafe is one failsafe port: protocol, port and optionally the remote net.
type PolFailsafe struct {
	Proto uint8
	Port  uint16
	Net   netip.Prefix // invalid: any
}

// PolSetKind says what a set holds.
type PolSetKind uint8

// Set kinds: addresses and networks (an interval set of IPv4), named ports (address .
// protocol . port), and port lists (an interval set of ports).
const (
	SetNets PolSetKind = iota
	SetNamedPorts
	SetPorts
)

// PolSet is one named set.
type PolSet struct {
	Kind  PolSetKind
	Nets  []netip.Prefix // SetNets; may overlap, are merged
	Ports []NamedPort    // SetNamedPorts
	Range []PortRange    // SetPorts
}

// NamedPort is one element of a named-port set.
type NamedPort struct {
	Addr  netip.Addr
	Proto uint8
	Port  uint16
}

// PortRange is an inclusive range of ports; a single port has First == Last.
type PortRange struct{ First, Last uint16 }

// PolChain is a policy's or profile's rules for one direction.
type PolChain struct {
	Rules []PolRule
}

// Rule actions, Calico's words.
const (
	ActionAllow = "Allow"
	ActionDeny  = "Deny"
	ActionPass  = "Pass"
	ActionLog   = "Log"
)

// PolRule is one Calico rule as the kernel can match it; every listed condition must hold.
// Index is the rule's position in the policy, shown with its counters.
type PolRule struct {
	Index    int
	Action   string
	Proto    uint8 // 0: any
	NotProto uint8 // 0: none
	Src, Dst PolMatch
	// ICMPType/Code: -1 for any.
	ICMPType, ICMPCode       int
	NotICMPType, NotICMPCode int
	LogPrefix                string // for Log
}

// PolMatch is one side (source or destination) of a rule.
type PolMatch struct {
	// Sets the address must be in (all of them: a selector and a namespace selector) and
	// sets it must be in none of.
	Sets, NotSets []string
	// Nets: the address is in one of them; NotNets: in none.
	Nets, NotNets []netip.Prefix
	// Ports: the port is in one range, or the address.proto.port is in one of PortSets
	// (named ports). NotPorts/NotPortSets: in none.
	Ports, NotPorts       []PortRange
	PortSets, NotPortSets []string
}

// PolEndpoint is one local workload interface.
type PolEndpoint struct {
	// Sources are its addresses and allowSpoofedSourcePrefixes: the only sources accepted
	// from its interface.
	Sources []netip.Prefix
	// Ingress applies to packets to the workload, Egress to packets from it.
	Ingress, Egress PolDirection
}

// PolDirection is what applies to one endpoint in one direction, in order.
type PolDirection struct {
	Tiers    []PolTier
	Profiles []string // chain names
}

// PolTier is one tier with at least one policy selecting the endpoint in this direction.
type PolTier struct {
	Name     string
	Policies []string // chain names, in order
	// PassByDefault: the tier's defaultAction is Pass, so no end-of-tier drop.
	PassByDefault bool
}
