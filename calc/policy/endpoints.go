package policy

import (
	"cmp"
	"slices"
)

func (s *state) localUpdate(old, it *item) {
	if old != nil && old.local {
		s.dirtyIfaces[old.iface] = struct{}{}
		if it == nil || !it.local || it.iface != old.iface {
			delete(s.byIface[old.iface], old.key)
			if len(s.byIface[old.iface]) == 0 {
				delete(s.byIface, old.iface)
			}
		}
		delete(s.locals, old.key)
	}
	if it == nil || !it.local {
		return
	}
	s.locals[it.key] = it
	if s.byIface[it.iface] == nil {
		s.byIface[it.iface] = map[itemKey]struct{}{}
	}
	s.byIface[it.iface][it.key] = struct{}{}
	s.dirtyIfaces[it.iface] = struct{}{}
	if old != nil && old.local && old.pols != nil && mapsEqualLabels(old.labels, it.labels) {
		it.pols = old.pols
		return
	}
	it.pols = map[policyKey]struct{}{}
	s.polIdx.candidates(it.labels, func(k policyKey) {
		if s.policies[k].matches(it) {
			it.pols[k] = struct{}{}
		}
	})
}

func mapsEqualLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// ifaceOwner picks the endpoint an interface belongs to; two records naming one interface (a
// stale one) resolve the same way whatever order they arrived in.
func (s *state) ifaceOwner(iface string) *item {
	keys := s.byIface[iface]
	if len(keys) == 0 {
		return nil
	}
	var best itemKey
	first := true
	for k := range keys {
		if first || compareItemKey(k, best) < 0 {
			best, first = k, false
		}
	}
	return s.locals[best]
}

// buildEndpoint computes what applies to one local endpoint (felix/calc/policy_resolver.go and
// felix/rules/endpoints.go): per direction the tiers with at least one policy selecting it,
// in tier order, each with its policies in order, then its profiles.
func (s *state) buildEndpoint(it *item) *Endpoint {
	ep := &Endpoint{Iface: it.iface, Namespace: it.key.namespace, Name: it.key.name}
	ep.Addrs = slices.Clone(it.nets)
	for _, n := range it.ep.Spec.AllowSpoofedSourcePrefixes {
		if p, err := parseNet(n); err == nil {
			ep.AllowSpoofed = append(ep.AllowSpoofed, p)
		}
	}
	pols, ranks := s.sortedPolicies(it, false)
	for _, egress := range []bool{false, true} {
		var d Direction
		for _, p := range pols {
			if egress && !p.egress || !egress && !p.ingress {
				continue
			}
			if n := len(d.Tiers); n == 0 || d.Tiers[n-1].Name != p.tier {
				d.Tiers = append(d.Tiers, Tier{Name: p.tier, EndOfTierPass: ranks[p.tier].pass})
			}
			d.Tiers[len(d.Tiers)-1].Policies = append(d.Tiers[len(d.Tiers)-1].Policies, policyChainID(p.key, egress))
		}
		for _, name := range it.parents {
			id := profileChainID(name, egress)
			if _, ok := s.chainDefs[id]; !ok {
				s.chainDefs[id] = chainDef{profile: name, egress: egress}
			}
			d.Profiles = append(d.Profiles, id)
		}
		if egress {
			ep.Egress = d
		} else {
			ep.Ingress = d
		}
	}
	return ep
}

// sortedPolicies are the policies selecting it in felix's order (tier, policy order, name) with
// the rank of each of their tiers; host-only policies (doNotTrack, preDNAT) only for a host
// endpoint.
func (s *state) sortedPolicies(it *item, host bool) ([]*policy, map[string]tierRank) {
	pols := make([]*policy, 0, len(it.pols))
	for k := range it.pols {
		if p := s.policies[k]; p != nil && (host || !p.hostOnly) {
			pols = append(pols, p)
		}
	}
	ranks := make(map[string]tierRank, 4)
	for _, p := range pols {
		if _, ok := ranks[p.tier]; !ok {
			ranks[p.tier] = s.tierRank(p.tier)
		}
	}
	slices.SortFunc(pols, func(a, b *policy) int {
		return cmp.Or(compareTierRank(ranks[a.tier], ranks[b.tier]), cmp.Compare(a.order, b.order), cmp.Compare(a.sortName, b.sortName))
	})
	return pols, ranks
}
