package dataplane

import (
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc/policy"
	"github.com/google/nftables/expr"
)

// Workload policy for IPv6 is the same layout as for IPv4 (polchains.go), written by a second
// polTable into `ip6 brindle`, next to the NAT66 reconciler's objects (nat6.go; each side
// leaves the other's alone, as in `ip brindle`). The differences are the address loads
// (IPv6 header offsets, 16 bytes), the set key types, and the ICMPv6 that a workload needs
// to reach its router (icmp6Router).

const ipProtoICMPv6 = 58

// icmp6RouterTypes are the ICMPv6 types accepted from workloads before any policy, as Felix
// does (felix/rules/static.go ICMPv6Filter, in its workload-to-host chain): multicast
// listener query, report and done (130-132), router solicitation (133), neighbour
// solicitation and advertisement (135, 136). Without them a policy could cut a workload off
// its own router in ways that no rule mentions. brindle runs egress policy in prerouting, for
// packets to the host too, so they are accepted there as well as in wl-to-host; a routed one
// still meets the destination workload's ingress policy in forward.
var icmp6RouterTypes = []byte{130, 131, 132, 133, 135, 136}

func icmp6Router() []polRuleOut {
	var out []polRuleOut
	for _, typ := range icmp6RouterTypes {
		out = append(out, polRule("icmpv6-"+icmp6TypeName(typ),
			one(metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{ipProtoICMPv6}),
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1}, cmpEq([]byte{typ})),
			one(accept)))
	}
	return out
}

func icmp6TypeName(t byte) string {
	switch t {
	case 130:
		return "mld-query"
	case 131:
		return "mld-report"
	case 132:
		return "mld-done"
	case 133:
		return "router-solicit"
	case 135:
		return "neighbour-solicit"
	default:
		return "neighbour-advert"
	}
}

// SpecFromProgram6 is SpecFromProgram for `ip6 brindle`: the Program's family-6 sets and
// IPVersion 6 rules, the endpoints' IPv6 addresses as their only accepted sources. Host
// endpoints are not rendered for IPv6 (host protection is IPv4 only; see docs/dataplane.md).
// The Model must be built with IPv6 on, or every rule is IPv4 and IPv6 from a workload meets
// only the end-of-direction drop.
func SpecFromProgram6(p *policy.Program) PolicySpec {
	spec := specConfig(p.Config)
	spec.V6, spec.FailsafeIn, spec.FailsafeOut = true, nil, nil
	spec.Sets, spec.Chains, spec.Endpoints = map[string]PolSet{}, map[string]PolChain{}, map[string]PolEndpoint{}
	for id, s := range p.Sets {
		if s.Family == 6 {
			spec.Sets[setName(id)] = polSetFrom(s)
		}
	}
	for id, ch := range p.Chains {
		spec.Chains[string(id)] = PolChain{Rules: polRulesFor(ch.Rules, 6)}
	}
	for iface, ep := range p.Endpoints {
		spec.Endpoints[iface] = polEndpointFor(ep, true)
	}
	return spec
}

// polEndpointFor is an endpoint as one family's table enforces it: the IPv6 table accepts
// its /128s, its IPv6 allowSpoofedSourcePrefixes and link-local sources.
func polEndpointFor(ep *policy.Endpoint, v6 bool) PolEndpoint {
	pe := polEndpointFrom(ep)
	if v6 {
		pe.Sources = append(append(v6only(ep.Addrs), v6only(ep.AllowSpoofed)...), linkLocal6)
	}
	return pe
}

// linkLocal6 is accepted as a workload's source besides its own addresses: a workload talks
// to its router (the host) from its link-local address, which is never forwarded (Felix's
// reverse-path check passes it the same way, as fe80::/64 is on every interface). Egress
// policy and defaultEndpointToHostAction still apply to it.
var linkLocal6 = netip.MustParsePrefix("fe80::/10")

func v6only(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is6() && !p.Addr().Is4In6() {
			out = append(out, p)
		}
	}
	return out
}

// netRanges6 is netRanges for IPv6: one range per prefix, joining only prefixes that
// overlap, so that a member added or removed changes only its own elements.
func netRanges6(ps []netip.Prefix) []range6 {
	var rs []range6
	for _, p := range v6only(ps) {
		p = p.Masked()
		rs = append(rs, range6{p.Addr(), lastAddr(p).Next()}) // Next of the top is invalid: no end
	}
	slices.SortFunc(rs, func(a, b range6) int { return a.start.Compare(b.start) })
	var out []range6
	for _, r := range rs {
		if n := len(out); n > 0 && (!out[n-1].end.IsValid() || r.start.Compare(out[n-1].end) < 0) {
			if out[n-1].end.IsValid() && (!r.end.IsValid() || r.end.Compare(out[n-1].end) > 0) {
				out[n-1].end = r.end
			}
			continue
		}
		out = append(out, r)
	}
	return out
}
