package policy

import (
	"math"
	"slices"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/api/selector"
)

// policy is a GlobalNetworkPolicy or NetworkPolicy as the Model uses it.
type policy struct {
	key      policyKey
	tier     string
	order    float64 // +Inf when unset: sorts last (felix/calc/policy_sorter.go)
	sortName string  // felix's policy key name: "<namespace>/<name>" for NetworkPolicy
	sel      *selector.Selector
	ingress  bool
	egress   bool
	hostOnly bool // doNotTrack or preDNAT: applies to host endpoints only
	rulesIn  []api.Rule
	rulesOut []api.Rule
	// compiled
	in, out  []Rule
	specs    map[SetID]*setSpec
	warnings []string
}

func (p *policy) matches(it *item) bool { return p.sel != nil && p.sel.Evaluate(it.labels) }

// selection is what decides which endpoints a policy appears on, and where.
func (p *policy) selection() (string, string, float64, bool, bool, bool) {
	sel := ""
	if p.sel != nil {
		sel = p.sel.String()
	}
	return sel, p.tier, p.order, p.ingress, p.egress, p.hostOnly
}

func newPolicy(k policyKey, tier string, order *float64, types []string, in, out []api.Rule) *policy {
	p := &policy{key: k, tier: tier, order: math.Inf(1), sortName: k.name, rulesIn: in, rulesOut: out}
	if p.tier == "" {
		p.tier = api.DefaultTierName
	}
	if order != nil {
		p.order = *order
	}
	if k.namespaced {
		p.sortName = k.namespace + "/" + k.name
	}
	// Unset types default from the rules (api.DefaultPolicyTypes, as Calico's clientv3 fills
	// them on write).
	if len(types) == 0 {
		types = api.DefaultPolicyTypes(in, out)
	}
	for _, t := range types {
		switch t {
		case api.PolicyTypeIngress:
			p.ingress = true
		case api.PolicyTypeEgress:
			p.egress = true
		}
	}
	return p
}

func (s *state) setGNP(g *api.GlobalNetworkPolicy) {
	k := policyKey{name: g.Name}
	p := newPolicy(k, g.Spec.Tier, g.Spec.Order, g.Spec.Types, g.Spec.Ingress, g.Spec.Egress)
	p.hostOnly = g.Spec.DoNotTrack || g.Spec.PreDNAT
	var err error
	if p.sel, err = policySelector(g.Spec.Selector, "", g.Spec.NamespaceSelector, g.Spec.ServiceAccountSelector); err != nil {
		p.sel = nil
		p.warnings = append(p.warnings, "selector: "+err.Error()+"; the policy selects nothing")
	}
	s.putPolicy(p)
}

func (s *state) setNP(n *api.NetworkPolicy) {
	k := policyKey{namespace: n.Namespace, name: n.Name, namespaced: true}
	p := newPolicy(k, n.Spec.Tier, n.Spec.Order, n.Spec.Types, n.Spec.Ingress, n.Spec.Egress)
	var err error
	if p.sel, err = policySelector(n.Spec.Selector, n.Namespace, "", n.Spec.ServiceAccountSelector); err != nil {
		p.sel = nil
		p.warnings = append(p.warnings, "selector: "+err.Error()+"; the policy selects nothing")
	}
	s.putPolicy(p)
}

func (s *state) putPolicy(p *policy) {
	old := s.policies[p.key]
	var prev []string
	if old != nil {
		prev = old.warnings
	}
	s.compileWith(p, p.warnings, prev)
	s.policies[p.key] = p
	if old != nil && old.sel != nil {
		s.polIdx.remove(p.key, old.sel)
	}
	if p.sel != nil {
		s.polIdx.add(p.key, p.sel)
	}
	for _, eg := range []bool{false, true} {
		id := policyChainID(p.key, eg)
		s.chainDefs[id] = chainDef{pol: p.key, egress: eg}
		if old == nil || !slices.EqualFunc(old.rulesFor(eg), p.rulesFor(eg), ruleEqual) {
			s.dirtyChains[id] = struct{}{}
		}
	}
	if old != nil {
		s1, t1, o1, i1, e1, h1 := old.selection()
		s2, t2, o2, i2, e2, h2 := p.selection()
		if s1 == s2 && t1 == t2 && o1 == o2 && i1 == i2 && e1 == e2 && h1 == h2 {
			return // same endpoints, same places: only the chains change
		}
	}
	// Endpoints that matched before or match now: the candidates of both selectors.
	visit := func(it *item) {
		if !it.local {
			return
		}
		_, had := it.pols[p.key]
		has := p.matches(it)
		if has {
			it.pols[p.key] = struct{}{}
		} else {
			delete(it.pols, p.key)
		}
		if had || has {
			s.dirtyIfaces[it.iface] = struct{}{}
		}
	}
	if old != nil && old.sel != nil {
		s.itemsFor(old.sel, visit)
	}
	if p.sel != nil {
		s.itemsFor(p.sel, visit)
	}
}

func (p *policy) rulesFor(egress bool) []Rule {
	if egress {
		return p.out
	}
	return p.in
}

func (s *state) deletePolicy(k policyKey) {
	old, ok := s.policies[k]
	if !ok {
		return
	}
	delete(s.policies, k)
	if old.sel != nil {
		s.polIdx.remove(k, old.sel)
		s.itemsFor(old.sel, func(it *item) {
			if _, ok := it.pols[k]; ok && it.local {
				delete(it.pols, k)
				s.dirtyIfaces[it.iface] = struct{}{}
			}
		})
	}
	for _, eg := range []bool{false, true} {
		id := policyChainID(k, eg)
		delete(s.chainDefs, id)
		s.dirtyChains[id] = struct{}{}
	}
}

func (s *state) compilePolicy(p *policy) {
	old := p.in
	oldOut := p.out
	s.compileWith(p, p.selWarnings(), p.warnings)
	if !slices.EqualFunc(old, p.in, ruleEqual) {
		s.dirtyChains[policyChainID(p.key, false)] = struct{}{}
	}
	if !slices.EqualFunc(oldOut, p.out, ruleEqual) {
		s.dirtyChains[policyChainID(p.key, true)] = struct{}{}
	}
}

// selWarnings are the warnings not produced by compiling rules (a broken policy selector).
func (p *policy) selWarnings() []string {
	if p.sel == nil && len(p.warnings) > 0 {
		return p.warnings[:1]
	}
	return nil
}

// compileWith compiles p's rules; base are warnings found before (the selector), prev the
// warnings last reported for this policy.
func (s *state) compileWith(p *policy, base, prev []string) {
	o := owner{kind: "gnp", name: p.key.name, tier: p.tier}
	kind := "GlobalNetworkPolicy"
	if p.key.namespaced {
		o.kind, o.namespace, kind = "np", p.key.namespace, "NetworkPolicy"
	}
	c := compiler{own: o, families: s.families(), logPrefix: expandLogPrefix(s.cfg.LogPrefix, o),
		specs: map[SetID]*setSpec{}, warnings: slices.Clone(base)}
	p.in = c.rules("ingress", p.rulesIn)
	p.out = c.rules("egress", p.rulesOut)
	p.specs = c.specs
	s.report(kind, p.key.namespace, p.key.name, prev, c.warnings)
	p.warnings = c.warnings
}

// report queues warnings that differ from the ones last reported for the same object, so the
// agent logs each once, not on every resync.
func (s *state) report(kind, ns, name string, old, cur []string) {
	if slices.Equal(old, cur) {
		return
	}
	for _, w := range cur {
		s.warnings = append(s.warnings, Warning{Kind: kind, Namespace: ns, Name: name, Reason: w})
	}
}
