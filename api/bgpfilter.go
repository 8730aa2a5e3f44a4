package api

// BGPFilter holds import/export route filter rules that BGPPeers reference by name.
type BGPFilter struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       BGPFilterSpec `json:"spec"`
}

// BGPFilterSpec lists rules per direction and family.
type BGPFilterSpec struct {
	ExportV4 []BGPFilterRule `json:"exportV4,omitempty"`
	ImportV4 []BGPFilterRule `json:"importV4,omitempty"`
	ExportV6 []BGPFilterRule `json:"exportV6,omitempty"`
	ImportV6 []BGPFilterRule `json:"importV6,omitempty"`
}

// BGPFilterRule matches routes by prefix, source or interface and accepts or rejects them.
type BGPFilterRule struct {
	CIDR          string                 `json:"cidr,omitempty"`
	PrefixLength  *BGPFilterPrefixLength `json:"prefixLength,omitempty"`
	MatchOperator string                 `json:"matchOperator,omitempty"`
	Source        string                 `json:"source,omitempty"`
	Interface     string                 `json:"interface,omitempty"`
	Action        string                 `json:"action"`
}

// BGPFilterPrefixLength bounds the prefix length a rule matches.
type BGPFilterPrefixLength struct {
	Min *int32 `json:"min,omitempty"`
	Max *int32 `json:"max,omitempty"`
}

var bgpFilterIface = lazyRE(`^[a-zA-Z0-9_.*-]{1,15}$`)

// Validate checks each rule's action, operator and CIDR family.
func (f *BGPFilter) Validate() error {
	var e Errs
	checkMeta(&e, &f.ObjectMeta, false)
	for _, dir := range []struct {
		name  string
		v6    bool
		rules []BGPFilterRule
	}{{"exportV4", false, f.Spec.ExportV4}, {"importV4", false, f.Spec.ImportV4}, {"exportV6", true, f.Spec.ExportV6}, {"importV6", true, f.Spec.ImportV6}} {
		maxLen := int32(32)
		if dir.v6 {
			maxLen = 128
		}
		for i, r := range dir.rules {
			p := "spec." + dir.name + "[" + itoa(i) + "]"
			CheckOneOf(&e, p+".action", r.Action, false, "Accept", "Reject")
			CheckOneOf(&e, p+".matchOperator", r.MatchOperator, r.CIDR == "", "Equal", "NotEqual", "In", "NotIn")
			if r.CIDR != "" {
				if pr, ok := CheckCIDR(&e, p+".cidr", r.CIDR, true); ok && pr.Addr().Is6() != dir.v6 {
					e.Add(p+".cidr", r.CIDR, "address family does not match %s", dir.name)
				}
			} else if r.MatchOperator != "" {
				e.Add(p+".cidr", nil, "is required with matchOperator")
			}
			CheckOneOf(&e, p+".source", r.Source, true, "RemotePeers")
			if r.Interface != "" && r.Interface != "*" && !bgpFilterIface.MatchString(r.Interface) {
				e.Add(p+".interface", r.Interface, "must be an interface name or pattern of 1-15 letters, digits, '_', '.', '*' or '-'")
			}
			if r.PrefixLength != nil && r.CIDR == "" {
				e.Add(p+".prefixLength", nil, "needs cidr")
			}
			if pl := r.PrefixLength; pl != nil {
				for _, b := range []struct {
					n string
					v *int32
				}{{"min", pl.Min}, {"max", pl.Max}} {
					if b.v != nil && (*b.v < 0 || *b.v > maxLen) {
						e.Add(p+".prefixLength."+b.n, *b.v, "must be 0-%d", maxLen)
					}
				}
			}
		}
	}
	return e.For(f)
}
