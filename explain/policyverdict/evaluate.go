// Package policyverdict judges one flow against calc/policy's Program for an endpoint, for
// `brindle explain`'s policy hop. It is its own package so that the lean CLI, which only
// reads verdicts, does not link the policy model.
package policyverdict

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/explain"
)

// Evaluate judges pk for the endpoint on iface in one direction, following the procedure
// the Program's contract spells out (calc/policy/program.go, Direction; felix's
// felix/rules/endpoints.go): tiers in order, each tier's policies in order, Pass to the next
// tier, a tier's end drops unless it ends in Pass, then the profiles, then drop. ok is false
// when the Program has no such endpoint.
func Evaluate(p *policy.Program, iface string, egress bool, pk explain.Packet) (explain.Verdict, bool) {
	v := explain.Verdict{Iface: iface, Direction: "ingress", Src: pk.Src, Dst: pk.Dst}
	ep := p.Endpoints[iface]
	if ep == nil {
		return v, false
	}
	d := &ep.Ingress
	if egress {
		d, v.Direction = &ep.Egress, "egress"
	}
	decide := func(allow bool, why string) (explain.Verdict, bool) {
		v.Allow, v.Decided = allow, why
		return v, true
	}
tiers:
	for _, t := range d.Tiers {
		for _, id := range t.Policies {
			ch := p.Chains[id]
			if ch == nil {
				return decide(false, "chain "+string(id)+" is missing from the program")
			}
			act, idx := runChain(p, ch, pk)
			what := fmt.Sprintf("tier %s policy %s", t.Name, ch.Name)
			switch act {
			case policy.Allow, policy.Deny:
				return decide(act == policy.Allow, fmt.Sprintf("%s rule %d (%s)", what, idx, act))
			case policy.Pass:
				v.Trace = append(v.Trace, fmt.Sprintf("%s rule %d: Pass to the next tier", what, idx))
				continue tiers
			}
			v.Trace = append(v.Trace, what+": no rule matched")
		}
		if !t.EndOfTierPass {
			return decide(false, "end of tier "+t.Name+": no policy of the tier decided, so the packet is dropped")
		}
		v.Trace = append(v.Trace, "end of tier "+t.Name+": defaultAction Pass")
	}
	for _, id := range d.Profiles {
		ch := p.Chains[id]
		if ch == nil {
			return decide(false, "chain "+string(id)+" is missing from the program")
		}
		act, idx := runChain(p, ch, pk)
		if act == policy.Allow || act == policy.Deny {
			return decide(act == policy.Allow, fmt.Sprintf("profile %s rule %d (%s)", ch.Name, idx, act))
		}
		v.Trace = append(v.Trace, "profile "+ch.Name+": no verdict")
	}
	return decide(false, "no tier or profile allowed it (the default is drop)")
}

// runChain returns the first deciding rule's action and API index; 0 when none decides.
func runChain(p *policy.Program, ch *policy.Chain, pk explain.Packet) (policy.Action, int) {
	for i := range ch.Rules {
		r := &ch.Rules[i]
		if r.Action == policy.Log || !ruleMatches(p, r, pk) {
			continue
		}
		return r.Action, r.Index
	}
	return 0, -1
}

func ruleMatches(p *policy.Program, r *policy.Rule, pk explain.Packet) bool {
	fam := uint8(4)
	if pk.Src.Is6() {
		fam = 6
	}
	if r.IPVersion != fam {
		return false
	}
	if r.Protocol != nil && *r.Protocol != pk.Proto || r.NotProtocol != nil && *r.NotProtocol == pk.Proto {
		return false
	}
	isICMP := pk.Proto == 1 || pk.Proto == 58
	icmpIs := func(m *policy.ICMPMatch) bool {
		return isICMP && pk.ICMPType == m.Type && (m.Code == nil || *m.Code == pk.ICMPCode)
	}
	if r.ICMP != nil && !icmpIs(r.ICMP) || r.NotICMP != nil && icmpIs(r.NotICMP) {
		return false
	}
	return sideMatches(p, &r.Src, pk.Src, pk.Proto, pk.SPort) && sideMatches(p, &r.Dst, pk.Dst, pk.Proto, pk.DPort)
}

// sideMatches applies policy.Match's conditions (all must hold) to one side of the packet.
// A set missing from the program matches nothing.
func sideMatches(p *policy.Program, m *policy.Match, a netip.Addr, proto uint8, port uint16) bool {
	inNets := func(nets []netip.Prefix) bool {
		return slices.ContainsFunc(nets, func(n netip.Prefix) bool { return n.Contains(a) })
	}
	inSet := func(id policy.SetID) bool {
		s := p.Sets[id]
		if s == nil {
			return false
		}
		if s.Kind == policy.SetNets {
			return inNets(s.Nets)
		}
		return slices.Contains(s.Members, policy.AddrPort{Addr: a, Proto: proto, Port: port})
	}
	hasPort := proto == 6 || proto == 17 || proto == 132 || proto == 136
	inRanges := func(rs []policy.PortRange) bool {
		return hasPort && slices.ContainsFunc(rs, func(r policy.PortRange) bool { return r.Min <= port && port <= r.Max })
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
	return !inRanges(m.NotPorts) && !slices.ContainsFunc(m.NotNamedPortSets, inSet)
}
