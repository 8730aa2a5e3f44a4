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

// Required returns a label key and value that every set of labels the selector matches must
// hold (a k == "v" or k in {"v"} at the top or in the top-level conjunction), so that callers
// can index selectors by it and evaluate only the candidates. Among several, a key other than
// the namespace label is preferred: it is usually the more selective.
func (s *Selector) Required() (key, value string, ok bool) {
	if s == nil || s.root == nil {
		return "", "", false
	}
	terms := []node{s.root}
	if a, isAnd := s.root.(andNode); isAnd {
		terms = a
	}
	for _, t := range terms {
		k, v, found := requiredOf(t)
		if !found {
			continue
		}
		if !ok || key == NamespaceLabel {
			key, value, ok = k, v, true
		}
	}
	return key, value, ok
}

func requiredOf(n node) (string, string, bool) {
	switch x := n.(type) {
	case cmpNode:
		if x.op == opEq {
			return x.key, x.value, true
		}
	case inNode:
		if !x.negate && len(x.values) == 1 {
			return x.key, x.values[0], true
		}
	}
	return "", "", false
}

// RequiredKey returns a label key every match must carry: a has(k) in the top-level
// conjunction, or the key of what Required returns. A coarser index than Required, for
// selectors such as has(net1) && role != "x".
func (s *Selector) RequiredKey() (string, bool) {
	if k, _, ok := s.Required(); ok {
		return k, true
	}
	if s == nil || s.root == nil {
		return "", false
	}
	terms := []node{s.root}
	if a, isAnd := s.root.(andNode); isAnd {
		terms = a
	}
	for _, t := range terms {
		if h, ok := t.(hasNode); ok {
			return h.key, true
		}
	}
	return "", false
}
