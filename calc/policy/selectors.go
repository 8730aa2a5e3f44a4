package policy

import (
	"strconv"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/api/selector"
)

// Label keys and prefixes Calico uses to carry namespaces and service accounts into endpoint
// labels (libcalico-go/lib/backend/k8s/conversion/constants.go).
const (
	labelNamespace      = selector.NamespaceLabel
	labelServiceAccount = "projectcalico.org/serviceaccount"
	labelOrchestrator   = "projectcalico.org/orchestrator"
	nsLabelPrefix       = "pcns."
	saLabelPrefix       = "pcsa."
	namespaceProfilePfx = "kns."
)

// policySelector is the selector a policy applies to, as the syncer's update processors build
// it (updateprocessors/networkpolicyprocessor.go, globalnetworkpolicyprocessor.go): a
// NetworkPolicy's is ANDed with its namespace, a GlobalNetworkPolicy's namespaceSelector is
// ANDed with pcns.-prefixed keys, and a serviceAccountSelector with pcsa.-prefixed keys.
func policySelector(sel, namespace, nsSel, saSel string) (*selector.Selector, error) {
	var parts []string
	add := func(s string) { parts = append(parts, "("+s+")") }
	if strings.TrimSpace(sel) != "" {
		s, err := selector.Parse(sel)
		if err != nil {
			return nil, err
		}
		add(s.String())
	}
	if namespace != "" {
		add(labelNamespace + " == " + strconv.Quote(namespace))
	}
	for _, p := range []struct{ sel, prefix string }{{nsSel, nsLabelPrefix}, {saSel, saLabelPrefix}} {
		if strings.TrimSpace(p.sel) == "" {
			continue
		}
		s, err := selector.Parse(p.sel)
		if err != nil {
			return nil, err
		}
		add(s.PrefixKeys(p.prefix, false).String())
	}
	return selector.Parse(strings.Join(parts, " && "))
}

// entitySelectors returns the positive and negated selectors of one side of a rule, following
// updateprocessors/rules.go getEndpointSelector and felix/calc/rule_scanner.go
// combineMatchesIfPossible: in a namespaced policy the positive selector is scoped to the
// policy's namespace unless a namespaceSelector is given; service accounts become pcsa.-prefixed
// keys and names; a notSelector is folded into the positive one when there is one.
// Either result may be nil (no constraint).
func entitySelectors(er *api.EntityRule, namespace string) (pos, neg *selector.Selector, err error) {
	var sels []string
	if sa := er.ServiceAccounts; sa != nil {
		var saParts []string
		if strings.TrimSpace(sa.Selector) != "" {
			s, err := selector.Parse(sa.Selector)
			if err != nil {
				return nil, nil, err
			}
			saParts = append(saParts, "("+s.PrefixKeys(saLabelPrefix, false).String()+")")
		}
		if len(sa.Names) > 0 {
			q := make([]string, len(sa.Names))
			for i, n := range sa.Names {
				q[i] = strconv.Quote(n)
			}
			saParts = append(saParts, "("+labelServiceAccount+" in {"+strings.Join(q, ", ")+"})")
		}
		if len(saParts) > 0 {
			sels = append(sels, strings.Join(saParts, " && "))
		}
	}
	if strings.TrimSpace(er.Selector) != "" {
		s, err := selector.Parse(er.Selector)
		if err != nil {
			return nil, nil, err
		}
		sels = append(sels, s.String())
	}
	var nsSel string
	switch {
	case strings.TrimSpace(er.NamespaceSelector) != "":
		s, err := selector.Parse(er.NamespaceSelector)
		if err != nil {
			return nil, nil, err
		}
		nsSel = s.PrefixKeys(nsLabelPrefix, true).String()
	case namespace != "":
		nsSel = labelNamespace + " == " + strconv.Quote(namespace)
	}
	var posStr string
	if len(sels) > 0 {
		posStr = "(" + strings.Join(sels, ") && (") + ")"
	}
	notStr := strings.TrimSpace(er.NotSelector)
	if nsSel != "" && (posStr != "" || notStr != "" || strings.TrimSpace(er.NamespaceSelector) != "") {
		if posStr != "" {
			posStr = "(" + nsSel + ") && " + posStr
		} else {
			posStr = nsSel
		}
	}
	if notStr != "" {
		ns, err := selector.Parse(notStr)
		if err != nil {
			return nil, nil, err
		}
		if posStr != "" {
			posStr = "(" + posStr + ") && !(" + ns.String() + ")"
		} else {
			neg = ns
		}
	}
	if posStr != "" {
		if pos, err = selector.Parse(posStr); err != nil {
			return nil, nil, err
		}
	}
	return pos, neg, nil
}
