package selector

import (
	"slices"
	"strings"
)

// node is one syntax tree element. Values, not pointers, so that trees compare with ==/DeepEqual
// and evaluation touches no heap.
type node interface {
	eval(labels map[string]string) bool
	appendTo(b []byte) []byte
	prec() int // binding strength for printing: or 1, and 2, everything else 3
}

type allNode struct{}

func (allNode) eval(map[string]string) bool { return true }
func (allNode) appendTo(b []byte) []byte    { return append(b, "all()"...) }
func (allNode) prec() int                   { return 3 }

// globalNode matches non-namespaced resources (Calico's global()).
type globalNode struct{}

func (globalNode) eval(l map[string]string) bool {
	_, ok := l[NamespaceLabel]
	return !ok
}
func (globalNode) appendTo(b []byte) []byte { return append(b, "global()"...) }
func (globalNode) prec() int                { return 3 }

type hasNode struct{ key string }

func (n hasNode) eval(l map[string]string) bool {
	_, ok := l[n.key]
	return ok
}
func (n hasNode) appendTo(b []byte) []byte {
	b = append(b, "has("...)
	b = append(b, n.key...)
	return append(b, ')')
}
func (hasNode) prec() int { return 3 }

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opContains
	opStarts
	opEnds
)

var opText = [...]string{opEq: " == ", opNe: " != ", opContains: " contains ", opStarts: " starts with ", opEnds: " ends with "}

type cmpNode struct {
	key   string
	op    cmpOp
	value string
}

func (n cmpNode) eval(l map[string]string) bool {
	v, ok := l[n.key]
	switch n.op {
	case opNe:
		// Calico: k != "v" also matches when k is absent.
		return !ok || v != n.value
	case opEq:
		return ok && v == n.value
	case opContains:
		return ok && strings.Contains(v, n.value)
	case opStarts:
		return ok && strings.HasPrefix(v, n.value)
	default:
		return ok && strings.HasSuffix(v, n.value)
	}
}
func (n cmpNode) appendTo(b []byte) []byte {
	b = append(b, n.key...)
	b = append(b, opText[n.op]...)
	return appendQuoted(b, n.value)
}
func (cmpNode) prec() int { return 3 }

// inNode is k in {...} or, negated, k not in {...}; values are sorted and unique.
type inNode struct {
	key    string
	values []string
	negate bool
}

func (n inNode) eval(l map[string]string) bool {
	v, ok := l[n.key]
	if !ok {
		// Calico: k not in {...} matches when k is absent, k in {...} does not.
		return n.negate
	}
	_, found := slices.BinarySearch(n.values, v)
	return found != n.negate
}
func (n inNode) appendTo(b []byte) []byte {
	b = append(b, n.key...)
	if n.negate {
		b = append(b, " not in {"...)
	} else {
		b = append(b, " in {"...)
	}
	for i, v := range n.values {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendQuoted(b, v)
	}
	return append(b, '}')
}
func (inNode) prec() int { return 3 }

type notNode struct{ x node }

func (n notNode) eval(l map[string]string) bool { return !n.x.eval(l) }
func (n notNode) appendTo(b []byte) []byte {
	return appendOperand(append(b, '!'), n.x, 3)
}
func (notNode) prec() int { return 3 }

// andNode and orNode hold two or more operands, never one of their own kind (the parser
// flattens), so a tree has exactly one canonical spelling.
type andNode []node

func (n andNode) eval(l map[string]string) bool {
	for _, x := range n {
		if !x.eval(l) {
			return false
		}
	}
	return true
}
func (n andNode) appendTo(b []byte) []byte { return appendJoined(b, n, " && ", 2) }
func (andNode) prec() int                  { return 2 }

type orNode []node

func (n orNode) eval(l map[string]string) bool {
	for _, x := range n {
		if x.eval(l) {
			return true
		}
	}
	return false
}
func (n orNode) appendTo(b []byte) []byte { return appendJoined(b, n, " || ", 1) }
func (orNode) prec() int                  { return 1 }

func appendJoined(b []byte, xs []node, sep string, prec int) []byte {
	for i, x := range xs {
		if i > 0 {
			b = append(b, sep...)
		}
		b = appendOperand(b, x, prec)
	}
	return b
}

// appendOperand parenthesises an operand that binds more loosely than its context. Operands of
// equal strength need none: and/or are flattened, so an and never directly holds an and.
func appendOperand(b []byte, x node, ctx int) []byte {
	if x.prec() < ctx {
		b = append(b, '(')
		b = x.appendTo(b)
		return append(b, ')')
	}
	return x.appendTo(b)
}

// appendQuoted prefers double quotes; a value holding one can only have come from a
// single-quoted string (there are no escapes), so single quotes round-trip it.
func appendQuoted(b []byte, v string) []byte {
	q := byte('"')
	if strings.IndexByte(v, '"') >= 0 {
		q = '\''
	}
	b = append(b, q)
	b = append(b, v...)
	return append(b, q)
}
