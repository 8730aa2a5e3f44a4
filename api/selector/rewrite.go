package selector

// PrefixKeys returns a copy of s with prefix put before every label key, as Calico does to a
// namespaceSelector ("pcns.") or a service account selector ("pcsa.") before evaluating it
// against endpoint labels (libcalico-go/lib/selector/parser PrefixVisitor). With nsFuncs,
// all() becomes has(projectcalico.org/namespace) and global() becomes its negation: what those
// mean in a rule's namespaceSelector (libcalico-go/lib/backend/syncersv1/updateprocessors/rules.go).
func (s *Selector) PrefixKeys(prefix string, nsFuncs bool) *Selector {
	if s == nil || s.root == nil {
		if nsFuncs {
			return &Selector{root: hasNode{NamespaceLabel}}
		}
		return &Selector{root: allNode{}}
	}
	return &Selector{root: prefixNode(s.root, prefix, nsFuncs)}
}

func prefixNode(n node, prefix string, nsFuncs bool) node {
	switch x := n.(type) {
	case allNode:
		if nsFuncs {
			return hasNode{NamespaceLabel}
		}
		return x
	case globalNode:
		if nsFuncs {
			return notNode{hasNode{NamespaceLabel}}
		}
		return x
	case hasNode:
		return hasNode{prefix + x.key}
	case cmpNode:
		x.key = prefix + x.key
		return x
	case inNode:
		x.key = prefix + x.key
		return x
	case notNode:
		return notNode{prefixNode(x.x, prefix, nsFuncs)}
	case andNode:
		out := make(andNode, len(x))
		for i, c := range x {
			out[i] = prefixNode(c, prefix, nsFuncs)
		}
		return out
	case orNode:
		out := make(orNode, len(x))
		for i, c := range x {
			out[i] = prefixNode(c, prefix, nsFuncs)
		}
		return out
	}
	return n
}
