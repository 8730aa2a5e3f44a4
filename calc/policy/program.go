// Package policy is Calico's network policy model, computed purely (no kernel, no etcd): from
// tiers, policies, profiles, network sets and workload endpoints it derives, for each local
// workload endpoint and direction, the ordered tiers, the ordered policies that select it and its
// profiles, plus the address sets and rule chains those reference. A dataplane renders the
// Program; Delta says what changed since the previous Flush so that it writes only that.
//
// Semantics follow felix: ordering from felix/calc/policy_sorter.go, the per-endpoint verdict
// from felix/rules/endpoints.go, rule matching from felix/rules/policy.go, selector rewriting
// for namespaces and service accounts from
// libcalico-go/lib/backend/syncersv1/updateprocessors/rules.go.
package policy

import "net/netip"

// SetID names one set. It is derived from what the set holds (kind, family, canonical selector,
// named port), so it is the same across restarts and equal selectors in different policies share
// one set. It is at most 16 bytes of [a-z0-9-], usable as an nftables set name as is.
type SetID string

// ChainID names one chain: a policy or profile in one direction. It is derived from the
// policy's or profile's identity (kind, namespace, name), never from its content, so an edited
// policy keeps its ID and the renderer rewrites the chain in place. At most 16 bytes of
// [a-z0-9-]: "pi-"/"po-" policy ingress/egress, "ri-"/"ro-" profile ingress/egress.
type ChainID string

// Program is everything the dataplane needs to enforce policy on this node. Only chains reached
// from some local endpoint and only sets referenced by those chains are present (felix, too,
// renders only referenced chains). The Model owns the maps and mutates them on the next Flush:
// a renderer that keeps anything across Flushes must copy it.
type Program struct {
	// Sets by ID; each is referenced by at least one rule of a chain in Chains.
	Sets map[SetID]*Set
	// Chains by ID; each is listed by at least one endpoint in Endpoints.
	Chains map[ChainID]*Chain
	// Endpoints by host-side interface name (e.g. "cali1234567890a"): this node's workloads.
	Endpoints map[string]*Endpoint
	// Config holds the FelixConfiguration values that shape the static part of the ruleset.
	Config Config
}

// Config is the part of FelixConfiguration the policy dataplane needs (effective values: the
// node's own FelixConfiguration over "default", defaults filled in).
type Config struct {
	// EndpointToHost is the verdict for a packet from a workload to its own host after the
	// workload's egress policy accepted it: "Drop" (Calico's default), "Accept", or "Return"
	// (brindle gives no verdict; the host's other rules decide).
	EndpointToHost string
	// LogPrefix is the configured logPrefix (default "calico-packet"); informative only, every
	// Log rule carries its own expanded Rule.LogPrefix.
	LogPrefix string
	// DropInvalid: conntrack state invalid is dropped (false when
	// disableConntrackInvalidCheck is true).
	DropInvalid bool
	// AllowIPIPFromWorkloads / AllowVXLANFromWorkloads: when false, IP protocol 4 packets and
	// UDP packets to VXLANPort coming from a workload are dropped before any policy.
	AllowIPIPFromWorkloads, AllowVXLANFromWorkloads bool
	// VXLANPort is FelixConfiguration vxlanPort (default 4789).
	VXLANPort uint16
}

// SetKind says what a set's members are.
type SetKind uint8

const (
	// SetNets holds address prefixes of one family (an interval set). Members never overlap:
	// a prefix contained in another member is left out, so interval sets accept them as is.
	SetNets SetKind = iota + 1
	// SetAddrPorts holds (address, IP protocol, port) triples of one family: the named ports of
	// the endpoints a selector matches (nftables concatenation addr . l4proto . port).
	SetAddrPorts
)

// Set is one named set.
type Set struct {
	ID     SetID
	Kind   SetKind
	Family uint8 // 4 or 6: every member is of this family
	// Nets are the members of a SetNets set, sorted by address then prefix length, disjoint.
	// Single addresses are /32 or /128.
	Nets []netip.Prefix
	// Members of a SetAddrPorts set, sorted (Addr, then Proto, then Port).
	Members []AddrPort
	// Source is what the set stands for, for comments and debugging, e.g.
	// `selector (projectcalico.org/namespace == "prod") && (app == "db")` or
	// `named port "http"/TCP of selector all()`.
	Source string
}

// AddrPort is one member of a named-port set.
type AddrPort struct {
	Addr  netip.Addr
	Proto uint8 // 6 TCP, 17 UDP, 132 SCTP
	Port  uint16
}

// ChainKind says whose rules a chain holds and in which direction.
type ChainKind uint8

const (
	PolicyIngress ChainKind = iota + 1
	PolicyEgress
	ProfileIngress
	ProfileEgress
)

// Chain is one policy's or profile's rules for one direction, evaluated top to bottom.
//
// Falling off the end of a chain gives no verdict: the endpoint continues with the next policy of
// the tier (or the next profile). See Endpoint for what each Action does.
type Chain struct {
	ID   ChainID
	Kind ChainKind
	// Name is the policy's stored name (e.g. "default.allow-db", "security.deny-all") or the
	// profile's name; Tier and Namespace are empty where they do not apply (a profile has no
	// tier, a GlobalNetworkPolicy no namespace).
	Name, Tier, Namespace string
	Rules                 []Rule
}

// Action is a rule's action.
type Action uint8

const (
	// Allow: the packet is accepted for this endpoint and direction; no further policy, tier or
	// profile is evaluated.
	Allow Action = iota + 1
	// Deny: the packet is dropped.
	Deny
	// Pass: in a policy, skip the rest of this tier and continue with the next tier (after the
	// last tier, with the profiles); in a profile, skip the rest of this profile and continue
	// with the next profile.
	Pass
	// Log: log the packet with Rule.LogPrefix and continue with the next rule.
	Log
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	case Pass:
		return "Pass"
	case Log:
		return "Log"
	}
	return "Action(?)"
}

// Rule is one match with one action. All of its non-empty fields must match (AND); a field left
// empty (nil) does not constrain. One API rule becomes one Rule per IP family it can match (in
// the order IPv4, IPv6, in the API rule's position); a rule that cannot match a family (its
// ipVersion, its nets, its ICMP protocol) has no Rule of that family, as felix does
// (felix/rules/policy.go FilterRuleToIPVersion).
type Rule struct {
	Action Action
	// IPVersion is 4 or 6: the rule matches only packets of that family. Every address, net and
	// set in the rule is of this family.
	IPVersion uint8
	// Protocol, when set, must equal the packet's IP protocol (l4proto); NotProtocol, when set,
	// must differ from it.
	Protocol, NotProtocol *uint8
	// Src matches the packet's source address and source port, Dst its destination.
	Src, Dst Match
	// ICMP, when set, requires an ICMP (IPv4) / ICMPv6 (IPv6) packet of that type (and code when
	// Code is set); Protocol is then 1 or 58. NotICMP, when set, requires that the packet is not
	// of that type (and code, when set): a packet of another type, or of another protocol,
	// matches.
	ICMP, NotICMP *ICMPMatch
	// LogPrefix is the prefix of the log line for a Log rule (Calico's logPrefix with %t %k %n
	// %p expanded); empty for other actions.
	LogPrefix string
	// Index is the position of the API rule in the policy's (or profile's) ingress or egress
	// list, for counters and comments; several Rules may share an Index (one per family).
	Index int
}

// ICMPMatch is an ICMP type and optionally a code.
type ICMPMatch struct {
	Type uint8
	Code *uint8
}

// Match constrains one side (source or destination) of a packet. Each field is a separate
// condition and all must hold:
//
//   - Nets: the address is inside at least one of them (OR); empty = any address.
//   - NotNets: the address is inside none of them.
//   - Sets: the address is a member of every listed SetNets set (AND; in practice at most one,
//     the rule's combined selector).
//   - NotSets: the address is a member of none of the listed SetNets sets.
//   - Ports / NamedPortSets: when either is non-empty, the port is inside at least one of the
//     Ports ranges OR (address, protocol, port) is a member of at least one NamedPortSets set.
//     Ports are only present with a Protocol of TCP, UDP, SCTP or UDPLite.
//   - NotPorts: the port is inside none of the ranges.
//   - NotNamedPortSets: (address, protocol, port) is a member of none of these sets.
type Match struct {
	Nets, NotNets    []netip.Prefix
	Sets, NotSets    []SetID
	Ports, NotPorts  []PortRange
	NamedPortSets    []SetID
	NotNamedPortSets []SetID
}

// PortRange is an inclusive range of ports; a single port has Min == Max.
type PortRange struct{ Min, Max uint16 }

// Endpoint is one local workload endpoint and what applies to it.
type Endpoint struct {
	// Iface is the host-side interface name, the key in Program.Endpoints.
	Iface string
	// Namespace and Name identify the WorkloadEndpoint resource (for display).
	Namespace, Name string
	// Addrs are the endpoint's own addresses (/32 or /128): anti-spoofing drops a packet from
	// Iface whose source is not inside one of Addrs or AllowSpoofed.
	Addrs []netip.Prefix
	// AllowSpoofed are spec.allowSpoofedSourcePrefixes: further accepted source prefixes.
	AllowSpoofed []netip.Prefix
	// Ingress applies to packets going to the workload, Egress to packets coming from it.
	Ingress, Egress Direction
}

// Direction is the verdict procedure for one endpoint and direction (felix/rules/endpoints.go):
//
//  1. For each tier in Tiers, in order: evaluate the policy chains in order. A rule with Allow
//     accepts the packet (done); Deny drops it (done); Pass leaves the tier (go to the next
//     tier); falling off a chain goes to the next policy. After the tier's last policy the
//     packet is dropped, unless EndOfTierPass is set, in which case it goes to the next tier.
//  2. Then each profile chain in Profiles, in order: Allow accepts, Deny drops, Pass or falling
//     off goes to the next profile.
//  3. Then the packet is dropped. (So an endpoint with no tier and no profile drops
//     everything in that direction.)
type Direction struct {
	Tiers    []Tier
	Profiles []ChainID
}

// Tier is one tier with at least one policy selecting the endpoint in this direction.
type Tier struct {
	Name string
	// Policies are the chains of the tier's policies that select the endpoint in this
	// direction, ordered by policy order (unset last), then by name.
	Policies []ChainID
	// EndOfTierPass is true when the tier's defaultAction is Pass: a packet that no policy of the
	// tier decided continues with the next tier instead of being dropped.
	EndOfTierPass bool
}
