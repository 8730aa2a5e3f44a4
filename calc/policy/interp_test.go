package policy

import (
	"net/netip"
	"slices"
)

// packet is what the interpreter below judges.
type packet struct {
	src, dst     netip.Addr
	proto        uint8
	sport, dport uint16
	icmpType     uint8
	icmpCode     uint8
}

// verdict interprets a Program exactly as the contract's doc comments say a renderer must:
// it is the executable form of the contract that the semantic tests check the Model against.
func verdict(p *Program, iface string, egress bool, pk packet) string {
	ep := p.Endpoints[iface]
	if ep == nil {
		return "no endpoint"
	}
	d := &ep.Ingress
	if egress {
		d = &ep.Egress
	}
tiers:
	for _, t := range d.Tiers {
		for _, id := range t.Policies {
			switch runChain(p, id, pk) {
			case Allow:
				return "allow"
			case Deny:
				return "deny"
			case Pass:
				continue tiers
			}
		}
		if !t.EndOfTierPass {
			return "deny"
		}
	}
	for _, id := range d.Profiles {
		switch runChain(p, id, pk) {
		case Allow:
			return "allow"
		case Deny:
			return "deny"
		}
	}
	return "deny"
}

func runChain(p *Program, id ChainID, pk packet) Action {
	ch := p.Chains[id]
	if ch == nil {
		panic("endpoint lists chain " + string(id) + " that is not in the Program")
	}
	for _, r := range ch.Rules {
		if !ruleMatches(p, &r, pk) || r.Action == Log {
			continue
		}
		return r.Action
	}
	return 0
}

func ruleMatches(p *Program, r *Rule, pk packet) bool {
	fam := uint8(4)
	if pk.src.Is6() {
		fam = 6
	}
	if r.IPVersion != fam {
		return false
	}
	if r.Protocol != nil && *r.Protocol != pk.proto || r.NotProtocol != nil && *r.NotProtocol == pk.proto {
		return false
	}
	isICMP := pk.proto == 1 || pk.proto == 58
	icmpIs := func(m *ICMPMatch) bool {
		return isICMP && pk.icmpType == m.Type && (m.Code == nil || *m.Code == pk.icmpCode)
	}
	if r.ICMP != nil && !icmpIs(r.ICMP) || r.NotICMP != nil && icmpIs(r.NotICMP) {
		return false
	}
	return sideMatches(p, &r.Src, pk.src, pk.proto, pk.sport) && sideMatches(p, &r.Dst, pk.dst, pk.proto, pk.dport)
}

func sideMatches(p *Program, m *Match, a netip.Addr, proto uint8, port uint16) bool {
	inNets := func(nets []netip.Prefix) bool {
		return slices.ContainsFunc(nets, func(n netip.Prefix) bool { return n.Contains(a) })
	}
	inSet := func(id SetID) bool {
		s := p.Sets[id]
		if s == nil {
			panic("rule references set " + string(id) + " that is not in the Program")
		}
		if s.Kind == SetNets {
			return inNets(s.Nets)
		}
		return slices.Contains(s.Members, AddrPort{a, proto, port})
	}
	hasPort := proto == 6 || proto == 17 || proto == 132 || proto == 136
	inRanges := func(rs []PortRange) bool {
		return hasPort && slices.ContainsFunc(rs, func(r PortRange) bool { return r.Min <= port && port <= r.Max })
	}
	if len(m.Nets) > 0 && !inNets(m.Nets) || inNets(m.NotNets) {
		return false
	}
	for _, id := range m.Sets {
		if !inSet(id) {
			return false
		}
	}
	if slices.ContainsFunc(m.NotSets, inSet) {
		return false
	}
	if len(m.Ports)+len(m.NamedPortSets) > 0 && !inRanges(m.Ports) && !slices.ContainsFunc(m.NamedPortSets, inSet) {
		return false
	}
	if inRanges(m.NotPorts) || slices.ContainsFunc(m.NotNamedPortSets, inSet) {
		return false
	}
	return true
}
