package policy

import "slices"

// buildHostEndpoint computes what applies to one local host endpoint (felix/calc/event_sequencer.go
// tierInfoToProtoTierInfo and felix/rules/endpoints.go HostEndpointTo*Chains): the policies that
// select it, split into untracked (doNotTrack), pre-DNAT (preDNAT, ingress only), normal and
// forward (applyOnForward, among the normal ones) tiers; profiles only in the normal directions.
func (s *state) buildHostEndpoint(it *item, iface string) *HostEndpoint {
	h := &HostEndpoint{Iface: iface, Name: it.key.name}
	h.ExpectedIPs = slices.Clone(it.nets)
	pols, ranks := s.sortedPolicies(it, true)
	add := func(d *Direction, p *policy, egress, pass bool) {
		if n := len(d.Tiers); n == 0 || d.Tiers[n-1].Name != p.tier {
			d.Tiers = append(d.Tiers, Tier{Name: p.tier, EndOfTierPass: pass})
		}
		t := &d.Tiers[len(d.Tiers)-1]
		t.Policies = append(t.Policies, policyChainID(p.key, egress))
	}
	all := iface == AllInterfaces
	for _, p := range pols {
		pass := ranks[p.tier].pass
		switch {
		case p.doNotTrack:
			if p.ingress {
				add(&h.UntrackedIngress, p, false, true)
			}
			if p.egress {
				add(&h.UntrackedEgress, p, true, true)
			}
		case p.preDNAT:
			if p.ingress {
				add(&h.PreDNAT, p, false, true)
			}
		default:
			if p.ingress {
				add(&h.Ingress, p, false, pass)
			}
			if p.egress {
				add(&h.Egress, p, true, pass)
			}
			if p.applyOnForward && !all {
				if p.ingress {
					add(&h.ForwardIngress, p, false, pass)
				}
				if p.egress {
					add(&h.ForwardEgress, p, true, pass)
				}
			}
		}
	}
	for _, name := range it.parents {
		for _, egress := range []bool{false, true} {
			id := profileChainID(name, egress)
			if _, ok := s.chainDefs[id]; !ok {
				s.chainDefs[id] = chainDef{profile: name, egress: egress}
			}
			if egress {
				h.Egress.Profiles = append(h.Egress.Profiles, id)
			} else {
				h.Ingress.Profiles = append(h.Ingress.Profiles, id)
			}
		}
	}
	return h
}
