package api

import "strings"

// Policy validation follows Calico's validateNetworkPolicy, validateGlobalNetworkPolicy and
// their spec validators (libcalico-go/lib/validator/v3/validator.go) plus the tier check of
// names.ValidateTieredPolicyName that calicoctl's client runs on every write.

var (
	// A NetworkPolicy name is a DNS label, optionally "<tier>.<label>", or a Kubernetes- or
	// OpenStack-derived "knp.default.<subdomain>" / "ossg.default.<subdomain>".
	npName = lazyRE(`^(([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?|((knp|ossg)\.default\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*))$`)
	// A GlobalNetworkPolicy name is a DNS label, optionally "<tier>.<label>". Calico allows
	// the knp./ossg. forms only for NetworkPolicy; brindle's store keeps them untouched for
	// both kinds, so they are accepted here too.
	gnpName = lazyRE(`^(([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?|((knp|ossg)\.default\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*))$`)
)

// Validate checks the policy's name against its tier, selectors, types and rules.
func (p *NetworkPolicy) Validate() error {
	var e Errs
	checkMeta(&e, &p.ObjectMeta, true)
	checkPolicyName(&e, p.Name, npName)
	s := &p.Spec
	checkPolicyCommon(&e, policyCommon{p.Name, s.Tier, s.Selector, s.ServiceAccountSelector, s.Types, s.Ingress, s.Egress, s.PerformanceHints})
	return e.For(p)
}

// Validate checks the policy's name against its tier, selectors, types, rules and the
// preDNAT / doNotTrack constraints.
func (p *GlobalNetworkPolicy) Validate() error {
	var e Errs
	checkMeta(&e, &p.ObjectMeta, false)
	checkPolicyName(&e, p.Name, gnpName)
	s := &p.Spec
	checkPolicyCommon(&e, policyCommon{p.Name, s.Tier, s.Selector, s.ServiceAccountSelector, s.Types, s.Ingress, s.Egress, s.PerformanceHints})
	CheckSelector(&e, "spec.namespaceSelector", s.NamespaceSelector)
	checkNoGlobal(&e, "spec.namespaceSelector", s.NamespaceSelector)
	if s.DoNotTrack && s.PreDNAT {
		e.Add("spec.preDNAT", true, "preDNAT and doNotTrack cannot both be true")
	}
	if s.PreDNAT && len(s.Egress) > 0 {
		e.Add("spec.egress", nil, "a preDNAT policy cannot have egress rules")
	}
	if s.PreDNAT {
		for i, t := range s.Types {
			if t == PolicyTypeEgress {
				e.Add("spec.types["+itoa(i)+"]", t, "a preDNAT policy cannot have type Egress")
			}
		}
	}
	if (s.PreDNAT || s.DoNotTrack) && !s.ApplyOnForward {
		e.Add("spec.applyOnForward", false, "must be true when preDNAT or doNotTrack is true")
	}
	// Outside a namespace a service name is ambiguous.
	for _, list := range []struct {
		path  string
		rules []Rule
		dest  bool
	}{{"spec.ingress", s.Ingress, false}, {"spec.egress", s.Egress, true}} {
		for i, r := range list.rules {
			sv, side := r.Source.Services, "source"
			if list.dest {
				sv, side = r.Destination.Services, "destination"
			}
			if sv != nil && sv.Namespace == "" {
				e.Add(list.path+"["+itoa(i)+"]."+side+".services.namespace", nil, "is required in a GlobalNetworkPolicy")
			}
		}
	}
	return e.For(p)
}

func checkPolicyName(e *Errs, name string, re *lazyRegexp) {
	if name != "" && len(name) <= 253 && dns1123Subdomain.MatchString(name) && !re.MatchString(name) {
		e.Add("metadata.name", name, "must be a DNS label (lower case letters, digits and '-'), optionally prefixed by its tier and '.'")
	}
}

// checkNoGlobal: global() selects non-namespaced resources, which only a rule's
// namespaceSelector can ask for.
func checkNoGlobal(e *Errs, path, sel string) {
	if strings.Contains(sel, "global()") {
		e.Add(path, sel, "global() is only valid in a rule's namespaceSelector")
	}
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
	checkNoGlobal(e, "spec.selector", c.selector)
	checkNoGlobal(e, "spec.serviceAccountSelector", c.saSelector)
	// Types may leave out a direction that has rules: Calico accepts that and ignores
	// those rules, so brindle does too.
	seen := map[string]bool{}
	for i, t := range c.types {
		path := "spec.types[" + itoa(i) + "]"
		if CheckOneOf(e, path, t, false, PolicyTypeIngress, PolicyTypeEgress) && seen[t] {
			e.Add(path, t, "is listed twice")
		}
		seen[t] = true
	}
	checkRules(e, "spec.ingress", c.ingress, dirIngress)
	checkRules(e, "spec.egress", c.egress, dirEgress)
	hints := map[string]bool{}
	for i, h := range c.hints {
		p := "spec.performanceHints[" + itoa(i) + "]"
		if CheckOneOf(e, p, h, false, "AssumeNeededOnEveryNode") && hints[h] {
			e.Add(p, h, "is listed twice")
		}
		hints[h] = true
	}
}

// CheckTieredPolicyName returns "" when name fits tier (empty tier = "default"), else the
// reason. A policy in tier T other than default must be named "T.<name>"; in the default
// tier "<name>" and "default.<name>" are accepted, as Calico v3.29+ does. Names Kubernetes
// and OpenStack policies are stored under ("knp.", "kanp.", "kbanp.", "ossg.") are exempt.
func CheckTieredPolicyName(name, tier string) string {
	for _, pre := range []string{"knp.", "kanp.", "kbanp.", "ossg."} {
		if strings.HasPrefix(name, pre) {
			return ""
		}
	}
	if tier == "" {
		tier = DefaultTierName
	}
	if tier == DefaultTierName && !strings.Contains(name, ".") {
		return ""
	}
	if !strings.HasPrefix(name, tier+".") || len(name) == len(tier)+1 {
		return "a policy in tier \"" + tier + "\" must be named \"" + tier + ".<name>\"" + map[bool]string{true: " or \"<name>\"", false: ""}[tier == DefaultTierName]
	}
	return ""
}
