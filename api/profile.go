package api

import "fmt"

// Profile is a named set of rules and labels that endpoints list in spec.profiles.
type Profile struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ProfileSpec `json:"spec"`
}

// ProfileSpec holds the profile's rules and the labels it gives its endpoints.
type ProfileSpec struct {
	Ingress       []Rule            `json:"ingress,omitempty"`
	Egress        []Rule            `json:"egress,omitempty"`
	LabelsToApply map[string]string `json:"labelsToApply,omitempty"`
}

// Validate checks the rules and the label keys to apply.
func (p *Profile) Validate() error {
	var e Errs
	checkMeta(&e, &p.ObjectMeta, false)
	checkRules(&e, "spec.ingress", p.Spec.Ingress, dirAny)
	checkRules(&e, "spec.egress", p.Spec.Egress, dirAny)
	for _, k := range Labels(p.Spec.LabelsToApply).SortedKeys() {
		v := p.Spec.LabelsToApply[k]
		path := fmt.Sprintf("spec.labelsToApply[%s]", k)
		if !labelKey.MatchString(k) {
			e.Add(path, k, "label key must be an optional DNS prefix and '/', then letters, digits, '-', '_' or '.'")
		}
		if len(v) > 63 || !labelValue.MatchString(v) {
			e.Add(path, v, "label value must be at most 63 letters, digits, '-', '_' or '.'")
		}
	}
	return e.For(p)
}
