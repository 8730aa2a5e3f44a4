package policy

import (
	"slices"

	"github.com/brindle-net/brindle/api"
)

// DefaultAllowProfile is the profile Calico's etcd backend synthesizes on every list, never
// stored: allow everything both ways (libcalico-go/lib/backend/etcdv3/etcdv3.go).
const DefaultAllowProfile = "projectcalico-default-allow"

type profileState struct {
	p        *api.Profile // nil while only referenced
	children map[itemKey]struct{}
	in, out  []Rule
	specs    map[SetID]*setSpec
	warnings []string
}

func (s *state) profile(name string) *profileState {
	pr := s.profiles[name]
	if pr == nil {
		pr = &profileState{children: map[itemKey]struct{}{}}
		if name == DefaultAllowProfile {
			pr.in, pr.out = []Rule{}, []Rule{}
			for _, f := range s.families() {
				pr.in = append(pr.in, Rule{Action: Allow, IPVersion: f})
				pr.out = append(pr.out, Rule{Action: Allow, IPVersion: f})
			}
		}
		s.profiles[name] = pr
	}
	return pr
}

func (s *state) gcProfile(name string, pr *profileState) {
	if pr.p == nil && len(pr.children) == 0 {
		delete(s.profiles, name)
	}
}

func (s *state) setProfile(p *api.Profile) {
	pr := s.profile(p.Name)
	var oldLabels map[string]string
	if pr.p != nil {
		oldLabels = pr.p.Spec.LabelsToApply
	}
	pr.p = p
	s.compileProfile(p.Name, pr)
	if !mapsEqualLabels(oldLabels, p.Spec.LabelsToApply) {
		s.relabelChildren(pr)
	}
}

func (s *state) deleteProfile(name string) {
	pr := s.profiles[name]
	if pr == nil || pr.p == nil {
		return
	}
	hadLabels := len(pr.p.Spec.LabelsToApply) > 0
	pr.p = nil
	pr.in, pr.out, pr.specs = nil, nil, nil
	if name == DefaultAllowProfile {
		delete(s.profiles, name)
		pr2 := s.profile(name)
		pr2.children = pr.children
		pr = pr2
	}
	s.dirtyChains[profileChainID(name, false)] = struct{}{}
	s.dirtyChains[profileChainID(name, true)] = struct{}{}
	if hadLabels {
		s.relabelChildren(pr)
	}
	s.gcProfile(name, pr)
}

func (s *state) relabelChildren(pr *profileState) {
	keys := make([]itemKey, 0, len(pr.children))
	for k := range pr.children {
		keys = append(keys, k)
	}
	for _, k := range keys {
		s.relabel(k)
	}
}

func (s *state) compileProfile(name string, pr *profileState) {
	o := owner{kind: "pro", name: name}
	c := compiler{own: o, families: s.families(), logPrefix: expandLogPrefix(s.cfg.LogPrefix, o), specs: map[SetID]*setSpec{}}
	in := c.rules("ingress", pr.p.Spec.Ingress)
	out := c.rules("egress", pr.p.Spec.Egress)
	if !slices.EqualFunc(in, pr.in, ruleEqual) || pr.in == nil {
		s.dirtyChains[profileChainID(name, false)] = struct{}{}
	}
	if !slices.EqualFunc(out, pr.out, ruleEqual) || pr.out == nil {
		s.dirtyChains[profileChainID(name, true)] = struct{}{}
	}
	pr.in, pr.out, pr.specs = in, out, c.specs
	s.report("Profile", "", name, pr.warnings, c.warnings)
	pr.warnings = c.warnings
}
