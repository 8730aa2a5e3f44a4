package policy

import (
	"reflect"
	"slices"
)

func ruleEqual(a, b Rule) bool { return reflect.DeepEqual(a, b) }

// flush settles everything marked dirty since the last Flush, in dependency order: endpoints
// (which chains they list), chains (which sets they reference), sets (their members).
func (s *state) flush() (*Program, Delta) {
	d := Delta{Full: s.first, Sets: map[SetID]SetDelta{}}
	s.first = false
	if s.cfgChanged || d.Full {
		s.prog.Config = s.cfg
		d.ConfigChanged = true
		s.cfgChanged = false
	}

	// 1. Endpoints, and the change in references to chains.
	chainRefs := map[ChainID]int{}
	for _, iface := range sortedKeys(s.dirtyIfaces) {
		old := s.prog.Endpoints[iface]
		var ep *Endpoint
		if it := s.ifaceOwner(iface); it != nil {
			ep = s.buildEndpoint(it)
		}
		if ep != nil && old != nil && reflect.DeepEqual(ep, old) {
			continue
		}
		if old != nil {
			forChains(old, func(id ChainID) { chainRefs[id]-- })
		}
		if ep == nil {
			if old != nil {
				delete(s.prog.Endpoints, iface)
				d.EndpointsRemoved = append(d.EndpointsRemoved, iface)
			}
			continue
		}
		forChains(ep, func(id ChainID) { chainRefs[id]++ })
		s.prog.Endpoints[iface] = ep
		d.EndpointsChanged = append(d.EndpointsChanged, iface)
	}
	clear(s.dirtyIfaces)

	// 2. Chains: activate, deactivate, rewrite; and the change in references to sets.
	setRefs := map[SetID]int{}
	changed := map[ChainID]bool{}
	for _, id := range sortedKeys(chainRefs) {
		dr := chainRefs[id]
		if dr == 0 {
			continue
		}
		ac := s.chains[id]
		if ac == nil {
			ac = &achain{}
			s.chains[id] = ac
		}
		was := ac.refs > 0
		ac.refs += dr
		switch {
		case !was && ac.refs > 0:
			s.renderChain(id, ac, setRefs)
			changed[id] = true
		case was && ac.refs <= 0:
			for _, sid := range ac.sets {
				setRefs[sid]--
			}
			delete(s.chains, id)
			delete(s.prog.Chains, id)
			d.ChainsRemoved = append(d.ChainsRemoved, id)
		}
	}
	for _, id := range sortedKeys(s.dirtyChains) {
		ac := s.chains[id]
		if ac == nil || changed[id] {
			continue
		}
		old := s.prog.Chains[id]
		if s.renderChain(id, ac, setRefs); !reflect.DeepEqual(old, s.prog.Chains[id]) {
			changed[id] = true
		}
	}
	clear(s.dirtyChains)
	d.ChainsChanged = sortedKeys(changed)

	// 3. Sets: activate (fill from every item), deactivate, then settle member changes.
	for _, id := range sortedKeys(setRefs) {
		dr := setRefs[id]
		if dr == 0 {
			if s.setRefs[id] == 0 {
				delete(s.setSpecs, id) // referenced and released within this flush
			}
			continue
		}
		was := s.setRefs[id] > 0
		s.setRefs[id] += dr
		now := s.setRefs[id] > 0
		switch {
		case !was && now:
			a := newAset(id, s.setSpecs[id])
			s.sets[id] = a
			s.setIdx.add(id, a.spec.sel)
			s.fill(a)
			s.prog.Sets[id] = a.out
			sd := a.settle()
			sd.New = true
			d.Sets[id] = sd
			delete(s.dirtySets, id)
		case was && !now:
			s.setIdx.remove(id, s.sets[id].spec.sel)
			delete(s.sets, id)
			delete(s.setRefs, id)
			delete(s.setSpecs, id)
			delete(s.prog.Sets, id)
			delete(s.dirtySets, id)
			d.Sets[id] = SetDelta{Removed: true}
		}
	}
	for id, a := range s.dirtySets {
		if sd := a.settle(); len(sd.AddNets)+len(sd.DelNets)+len(sd.AddMembers)+len(sd.DelMembers) > 0 {
			d.Sets[id] = sd
		}
	}
	clear(s.dirtySets)
	d.Warnings, s.warnings = s.warnings, nil
	return &s.prog, d
}

// renderChain (re)builds an active chain from its policy or profile and moves its set
// references.
func (s *state) renderChain(id ChainID, ac *achain, setRefs map[SetID]int) {
	ch := &Chain{ID: id}
	var specs map[SetID]*setSpec
	def := s.chainDefs[id]
	if def.profile != "" {
		ch.Kind, ch.Name = ProfileIngress, def.profile
		if def.egress {
			ch.Kind = ProfileEgress
		}
		if pr := s.profiles[def.profile]; pr != nil {
			ch.Rules, specs = pr.in, pr.specs
			if def.egress {
				ch.Rules = pr.out
			}
		}
	} else if p := s.policies[def.pol]; p != nil {
		ch.Kind, ch.Name, ch.Tier, ch.Namespace = PolicyIngress, p.key.name, p.tier, p.key.namespace
		ch.Rules, specs = p.in, p.specs
		if def.egress {
			ch.Kind, ch.Rules = PolicyEgress, p.out
		}
	}
	var sets []SetID
	for _, r := range ch.Rules {
		for _, m := range []*Match{&r.Src, &r.Dst} {
			sets = append(sets, m.Sets...)
			sets = append(sets, m.NotSets...)
			sets = append(sets, m.NamedPortSets...)
			sets = append(sets, m.NotNamedPortSets...)
		}
	}
	slices.Sort(sets)
	sets = slices.Compact(sets)
	for _, sid := range sets {
		if _, ok := s.setSpecs[sid]; !ok {
			s.setSpecs[sid] = specs[sid]
		}
		setRefs[sid]++
	}
	for _, sid := range ac.sets {
		setRefs[sid]--
	}
	ac.sets = sets
	s.prog.Chains[id] = ch
}

func forChains(ep *Endpoint, f func(ChainID)) {
	for _, d := range []*Direction{&ep.Ingress, &ep.Egress} {
		for _, t := range d.Tiers {
			for _, id := range t.Policies {
				f(id)
			}
		}
		for _, id := range d.Profiles {
			f(id)
		}
	}
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
