// Package selector implements Calico's label selector language: all(), global(), has(k),
// k == "v", k != "v", k in {...}, k not in {...}, k contains/starts with/ends with "s",
// !, &&, || and parentheses, with precedence ! > && > ||.
//
// A parsed Selector is immutable and safe for concurrent use. Evaluate does not allocate,
// because the agent evaluates every policy and pool selector against every endpoint or node.
package selector

// NamespaceLabel is the label Calico adds to namespaced endpoints; global() matches its absence.
const NamespaceLabel = "projectcalico.org/namespace"

// Selector is a parsed selector expression.
type Selector struct {
	root node
}

// Parse parses a selector. An empty (or all-blank) string selects everything, as Calico treats
// an empty selector as all(). Errors are *ParseError, carrying the byte position.
func Parse(s string) (*Selector, error) {
	if len(s) > MaxLength {
		return nil, &ParseError{Input: s, Pos: MaxLength, Expected: "a selector of at most 64 KiB", Found: "more"}
	}
	p := parser{lex: lexer{src: s}}
	root, err := p.parse()
	if err != nil {
		return nil, err
	}
	return &Selector{root: root}, nil
}

// MustParse is Parse for selectors written in code; it panics on a syntax error.
func MustParse(s string) *Selector {
	sel, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

// Evaluate reports whether a set of labels matches. A nil Selector matches everything.
func (s *Selector) Evaluate(labels map[string]string) bool {
	if s == nil || s.root == nil {
		return true
	}
	return s.root.eval(labels)
}

// String is the canonical form: single spaces around operators, double-quoted values (single
// quotes when the value holds a double quote), sorted and de-duplicated sets, and only the
// parentheses that precedence requires. Parse(s.String()) yields an equal Selector.
func (s *Selector) String() string {
	if s == nil || s.root == nil {
		return "all()"
	}
	var b []byte
	b = s.root.appendTo(b)
	return string(b)
}

// Equal reports whether two selectors have the same canonical syntax tree.
func (s *Selector) Equal(o *Selector) bool {
	return s.String() == o.String()
}
