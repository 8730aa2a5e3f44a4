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
