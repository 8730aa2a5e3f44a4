package node

import (
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/prometheus/client_golang/prometheus"
)

// policyMetrics are felix's policy gauges with felix's meaning
// (felix/calc/calc_graph.go, felix/calc/active_rules_calculator.go): policies and profiles
// that apply to at least one local endpoint, and the selectors (sets) they need.
type policyMetrics struct {
	localPolicies, localProfiles, localSelectors prometheus.Gauge
}

func newPolicyMetrics(reg *prometheus.Registry) *policyMetrics {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	pm := &policyMetrics{
		localPolicies:  g("felix_active_local_policies", "Number of active policies on this host."),
		localProfiles:  g("brindle_active_local_profiles", "Number of profiles that apply to an endpoint on this host."),
		localSelectors: g("felix_active_local_selectors", "Number of active selectors (and network sets) on this host."),
	}
	reg.MustRegister(pm.localPolicies, pm.localProfiles, pm.localSelectors)
	return pm
}

// policyApplied records what the Program just programmed holds.
func (m *agentMetrics) policyApplied(prog *policy.Program) {
	if m == nil || m.policy == nil || prog == nil {
		return
	}
	type id struct{ kind, ns, name string }
	policies, profiles := map[id]bool{}, map[id]bool{}
	for _, c := range prog.Chains {
		switch c.Kind {
		case policy.PolicyIngress, policy.PolicyEgress:
			policies[id{"policy", c.Namespace, c.Name}] = true
		case policy.ProfileIngress, policy.ProfileEgress:
			profiles[id{"profile", "", c.Name}] = true
		}
	}
	m.policy.localPolicies.Set(float64(len(policies)))
	m.policy.localProfiles.Set(float64(len(profiles)))
	m.policy.localSelectors.Set(float64(len(prog.Sets)))
}
