package api

// Tier groups policies; tiers are evaluated in order, then by name.
type Tier struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       TierSpec `json:"spec"`
}

// TierSpec holds the tier's order and what happens when no policy in it decides.
type TierSpec struct {
	Order         *float64 `json:"order,omitempty"`
	DefaultAction string   `json:"defaultAction,omitempty"`
}

// Orders of the tiers Calico creates at start-up.
const (
	DefaultTierOrder            = 1000000
	AdminNetworkPolicyTierOrder = 1000
	BaselineANPTierOrder        = 10000000
)

// Default sets defaultAction Deny, Calico's default.
func (t *Tier) Default() {
	if t.Spec.DefaultAction == "" {
		t.Spec.DefaultAction = ActionDeny
	}
	if t.Name == DefaultTierName && t.Spec.Order == nil {
		t.Spec.Order = Ptr(float64(DefaultTierOrder))
	}
}

// Validate checks the tier name (a DNS label: no dots, they separate tier and policy names).
func (t *Tier) Validate() error {
	var e Errs
	checkMeta(&e, &t.ObjectMeta, false)
	if dns1123Subdomain.MatchString(t.Name) {
		CheckLabel(&e, "metadata.name", t.Name)
	}
	CheckOneOf(&e, "spec.defaultAction", t.Spec.DefaultAction, true, ActionDeny, ActionPass)
	// Calico fixes the order of the tiers it creates (validateTier).
	for name, order := range map[string]float64{DefaultTierName: DefaultTierOrder,
		"adminnetworkpolicy": AdminNetworkPolicyTierOrder, "baselineadminnetworkpolicy": BaselineANPTierOrder} {
		if t.Name == name && t.Spec.Order != nil && *t.Spec.Order != order {
			e.Add("spec.order", *t.Spec.Order, "the %s tier's order is fixed at %.0f", name, order)
		}
	}
	return e.For(t)
}
