package selector

import (
	"slices"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 256

const (
	expectTerm = `"!", "(", "all()", "global()", "has(" or a label`
	expectOp   = `"==", "!=", "in", "not in", "contains", "starts with" or "ends with"`
	expectJoin = `"&&", "||" or end of input`
)

// parser is a recursive-descent parser with one token of lookahead.
//
//	expr  := and ("||" and)*
//	and   := unary ("&&" unary)*
//	unary := "!" unary | "(" expr ")" | all() | global() | has(key) | key op
//	op    := "==" str | "!=" str | "in" set | "not" "in" set
//	       | "contains" str | "starts" "with" str | "ends" "with" str
//	set   := "{" [str ("," str)*] "}"
type parser struct {
	lex   lexer
	tok   token // current token
	ahead *token
	depth int
}

func (p *parser) advance() {
	if p.ahead != nil {
		p.tok, p.ahead = *p.ahead, nil
		return
	}
	p.tok = p.lex.next()
}

func (p *parser) peek() token {
	if p.ahead == nil {
		t := p.lex.next()
		p.ahead = &t
	}
	return *p.ahead
}

func (p *parser) fail(expected string) error {
	return &ParseError{Input: p.lex.src, Pos: p.tok.pos, Expected: expected, Found: p.tok.describe()}
}

func (p *parser) parse() (node, error) {
	p.advance()
	if p.tok.kind == tEOF {
		return allNode{}, nil
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.fail(expectJoin)
	}
	return n, nil
}

func (p *parser) parseOr() (node, error) {
	first, err := p.parseAnd()
	if err != nil || p.tok.kind != tOr {
		return first, err
	}
	terms := flatten(nil, first, true)
	for p.tok.kind == tOr {
		p.advance()
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = flatten(terms, n, true)
	}
	return orNode(terms), nil
}

func (p *parser) parseAnd() (node, error) {
	first, err := p.parseUnary()
	if err != nil || p.tok.kind != tAnd {
		return first, err
	}
	terms := flatten(nil, first, false)
	for p.tok.kind == tAnd {
		p.advance()
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		terms = flatten(terms, n, false)
	}
	return andNode(terms), nil
}

// flatten merges nested operands of the same associative operator, so that "(a && b) && c"
// and "a && b && c" give the same tree and the canonical String round-trips exactly.
func flatten(terms []node, n node, or bool) []node {
	if or {
		if o, ok := n.(orNode); ok {
			return append(terms, o...)
		}
	} else if a, ok := n.(andNode); ok {
		return append(terms, a...)
	}
	return append(terms, n)
}

func (p *parser) parseUnary() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.fail("less nesting (at most 256 levels)")
	}
	switch p.tok.kind {
	case tNot:
		p.advance()
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case tLParen:
		p.advance()
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.fail(`"&&", "||" or ")"`)
		}
		p.advance()
		return n, nil
	case tIdent:
		if p.peek().kind == tLParen {
			return p.parseFunc()
		}
		return p.parseComparison()
	}
	return nil, p.fail(expectTerm)
}

// parseFunc handles all(), global() and has(key); an identifier is a function only when "("
// follows, so labels named "has" or "all" still work as keys.
func (p *parser) parseFunc() (node, error) {
	name, namePos := p.tok.text, p.tok.pos
	p.advance() // name
	p.advance() // (
	var n node
	switch name {
	case "all":
		n = allNode{}
	case "global":
		n = globalNode{}
	case "has":
		if p.tok.kind != tIdent {
			return nil, p.fail("a label key")
		}
		n = hasNode{key: p.tok.text}
		p.advance()
	default:
		return nil, &ParseError{Input: p.lex.src, Pos: namePos, Expected: `"all()", "global()" or "has(<key>)"`, Found: "function " + name + "()"}
	}
	if p.tok.kind != tRParen {
		return nil, p.fail(`")"`)
	}
	p.advance()
	return n, nil
}

func (p *parser) parseComparison() (node, error) {
	key := p.tok.text
	p.advance()
	op := p.tok
	switch op.kind {
	case tEq, tNe:
		p.advance()
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		if op.kind == tEq {
			return cmpNode{key: key, op: opEq, value: v}, nil
		}
		return cmpNode{key: key, op: opNe, value: v}, nil
	case tIdent:
	default:
		return nil, p.fail(expectOp)
	}
	switch op.text {
	case "in":
		p.advance()
		return p.set(key, false)
	case "not":
		p.advance()
		if p.tok.kind != tIdent || p.tok.text != "in" {
			return nil, p.fail(`"in"`)
		}
		p.advance()
		return p.set(key, true)
	case "contains":
		p.advance()
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		return cmpNode{key: key, op: opContains, value: v}, nil
	case "starts", "ends":
		p.advance()
		if p.tok.kind != tIdent || p.tok.text != "with" {
			return nil, p.fail(`"with"`)
		}
		p.advance()
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		o := opStarts
		if op.text == "ends" {
			o = opEnds
		}
		return cmpNode{key: key, op: o, value: v}, nil
	}
	return nil, p.fail(expectOp)
}

func (p *parser) str() (string, error) {
	if p.tok.kind != tString {
		return "", p.fail("a quoted string")
	}
	v := p.tok.text
	p.advance()
	return v, nil
}

func (p *parser) set(key string, negate bool) (node, error) {
	if p.tok.kind != tLBrace {
		return nil, p.fail(`"{"`)
	}
	p.advance()
	var vals []string
	if p.tok.kind != tRBrace {
		for {
			v, err := p.str()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if p.tok.kind == tRBrace {
				break
			}
			if p.tok.kind != tComma {
				return nil, p.fail(`"," or "}"`)
			}
			p.advance()
		}
	}
	p.advance() // }
	// Sorted and de-duplicated: membership is a binary search and the canonical form is stable.
	slices.Sort(vals)
	vals = slices.Compact(vals)
	return inNode{key: key, values: vals, negate: negate}, nil
}
