package api

import "strings"

// NetworkPolicy is a namespaced, ordered set of rules for the endpoints its selector picks.
type NetworkPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NetworkPolicySpec `json:"spec"`
}

// NetworkPolicySpec mirrors Calico's v3 NetworkPolicySpec.
type NetworkPolicySpec struct {
	Tier                   string   `json:"tier,omitempty"`
	Order                  *float64 `json:"order,omitempty"`
	Ingress                []Rule   `json:"ingress,omitempty"`
	Egress                 []Rule   `json:"egress,omitempty"`
	Selector               string   `json:"selector,omitempty"`
	Types                  []string `json:"types,omitempty"`
	ServiceAccountSelector string   `json:"serviceAccountSelector,omitempty"`
	PerformanceHints       []string `json:"performanceHints,omitempty"`
}

// GlobalNetworkPolicy is a cluster-wide policy; it also applies to host endpoints.
type GlobalNetworkPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       GlobalNetworkPolicySpec `json:"spec"`
}

// GlobalNetworkPolicySpec mirrors Calico's v3 GlobalNetworkPolicySpec (field order as stored).
type GlobalNetworkPolicySpec struct {
	Tier                   string   `json:"tier,omitempty"`
	Order                  *float64 `json:"order,omitempty"`
	Ingress                []Rule   `json:"ingress,omitempty"`
	Egress                 []Rule   `json:"egress,omitempty"`
	Selector               string   `json:"selector,omitempty"`
	Types                  []string `json:"types,omitempty"`
	DoNotTrack             bool     `json:"doNotTrack,omitempty"`
	PreDNAT                bool     `json:"preDNAT,omitempty"`
	ApplyOnForward         bool     `json:"applyOnForward,omitempty"`
	ServiceAccountSelector string   `json:"serviceAccountSelector,omitempty"`
	NamespaceSelector      string   `json:"namespaceSelector,omitempty"`
	PerformanceHints       []string `json:"performanceHints,omitempty"`
}

// Policy types and the default tier.
const (
	PolicyTypeIngress = "Ingress"
	PolicyTypeEgress  = "Egress"
	DefaultTierName   = "default"
)

// DefaultPolicyTypes is Calico's rule for unset types: Egress alone when there are only
// egress rules, both when there are both, otherwise Ingress.
func DefaultPolicyTypes(ingress, egress []Rule) []string {
	switch {
	case len(egress) > 0 && len(ingress) > 0:
		return []string{PolicyTypeIngress, PolicyTypeEgress}
	case len(egress) > 0:
		return []string{PolicyTypeEgress}
	default:
		return []string{PolicyTypeIngress}
	}
}

// Default fills types from the rules.
func (p *NetworkPolicy) Default() {
	if len(p.Spec.Types) == 0 {
		p.Spec.Types = DefaultPolicyTypes(p.Spec.Ingress, p.Spec.Egress)
	}
}

// Default fills types from the rules.
func (p *GlobalNetworkPolicy) Default() {
	if len(p.Spec.Types) == 0 {
		p.Spec.Types = DefaultPolicyTypes(p.Spec.Ingress, p.Spec.Egress)
	}
}

// Validate checks the policy's name against its tier, selectors, types and rules.
func (p *NetworkPolicy) Validate() error {
	var e Errs
	checkMeta(&e, &p.ObjectMeta, true)
	s := &p.Spec
	checkPolicyCommon(&e, policyCommon{p.Name, s.Tier, s.Selector, s.ServiceAccountSelector, s.Types, s.Ingress, s.Egress, s.PerformanceHints})
	return e.For(p)
}

// Validate checks the policy's name against its tier, selectors, types, rules and the
// preDNAT / doNotTrack constraints.
func (p *GlobalNetworkPolicy) Validate() error {
	var e Errs
	checkMeta(&e, &p.ObjectMeta, false)
	s := &p.Spec
	checkPolicyCommon(&e, policyCommon{p.Name, s.Tier, s.Selector, s.ServiceAccountSelector, s.Types, s.Ingress, s.Egress, s.PerformanceHints})
	CheckSelector(&e, "spec.namespaceSelector", s.NamespaceSelector)
	if s.DoNotTrack && s.PreDNAT {
		e.Add("spec.preDNAT", true, "preDNAT and doNotTrack cannot both be true")
	}
	if s.PreDNAT && len(s.Egress) > 0 {
		e.Add("spec.egress", nil, "a preDNAT policy cannot have egress rules")
	}
	if (s.PreDNAT || s.DoNotTrack) && !s.ApplyOnForward {
		e.Add("spec.applyOnForward", false, "must be true when preDNAT or doNotTrack is true")
	}
	return e.For(p)
}

type policyCommon struct {
	name, tier, selector, saSelector string
	types                            []string
	ingress, egress                  []Rule
	hints                            []string
}

func checkPolicyCommon(e *Errs, c policyCommon) {
	if c.tier != "" {
		CheckLabel(e, "spec.tier", c.tier)
	}
	if err := CheckTieredPolicyName(c.name, c.tier); err != "" {
		e.Add("metadata.name", c.name, "%s", err)
	}
	CheckSelector(e, "spec.selector", c.selector)
	CheckSelector(e, "spec.serviceAccountSelector", c.saSelector)
	seen := map[string]bool{}
	for i, t := range c.types {
		path := "spec.types[" + itoa(i) + "]"
		if CheckOneOf(e, path, t, false, PolicyTypeIngress, PolicyTypeEgress) && seen[t] {
			e.Add(path, t, "is listed twice")
		}
		seen[t] = true
	}
	if len(c.types) > 0 {
		if len(c.ingress) > 0 && !seen[PolicyTypeIngress] {
			e.Add("spec.ingress", nil, "ingress rules are present but spec.types does not include Ingress")
		}
		if len(c.egress) > 0 && !seen[PolicyTypeEgress] {
			e.Add("spec.egress", nil, "egress rules are present but spec.types does not include Egress")
		}
	}
	checkRules(e, "spec.ingress", c.ingress)
	checkRules(e, "spec.egress", c.egress)
	for i, h := range c.hints {
		CheckOneOf(e, "spec.performanceHints["+itoa(i)+"]", h, false, "AssumeNeededOnEveryNode")
	}
}

// CheckTieredPolicyName returns "" when name fits tier (empty tier = "default"), else the
// reason. A policy in tier T other than default must be named "T.<name>"; in the default
// tier both "<name>" and "default.<name>" are accepted, as Calico v3.29+ does.
func CheckTieredPolicyName(name, tier string) string {
	if tier == "" {
		tier = DefaultTierName
	}
	if tier == DefaultTierName {
		return ""
	}
	if !strings.HasPrefix(name, tier+".") || len(name) == len(tier)+1 {
		return "a policy in tier \"" + tier + "\" must be named \"" + tier + ".<name>\""
	}
	return ""
}

// TieredPolicyName is the name a policy is stored under: default-tier policies get the
// "default." prefix, except Kubernetes-derived "knp." and "ossg." names (calico-model.md §1.2).
func TieredPolicyName(name, tier string) string {
	if tier == "" {
		tier = DefaultTierName
	}
	if tier != DefaultTierName || strings.HasPrefix(name, DefaultTierName+".") ||
		strings.HasPrefix(name, "knp.") || strings.HasPrefix(name, "ossg.") {
		return name
	}
	return DefaultTierName + "." + name
}
