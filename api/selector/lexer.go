package selector

import "strconv"

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // label key or keyword (has, all, global, in, not, contains, starts, ends, with)
	tString         // quoted string; text holds the unquoted value
	tLParen
	tRParen
	tLBrace
	tRBrace
	tComma
	tAnd // &&
	tOr  // ||
	tNot // !
	tEq  // ==
	tNe  // !=
	tBad // a byte that starts no token, or an unterminated string
)

type token struct {
	kind tokKind
	pos  int
	text string
}

// describe renders a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIdent:
		return "label " + strconv.Quote(t.text)
	case tString:
		return "string " + strconv.Quote(t.text)
	case tBad:
		return t.text
	default:
		return strconv.Quote(t.text)
	}
}

// lexer splits a selector into tokens. Keywords are not special here: whether "in" is a label
// key or an operator depends on where it stands, which only the parser knows.
type lexer struct {
	src string
	pos int
}

// isKeyByte is the label key alphabet Calico's tokenizer accepts: Kubernetes keys (prefix/name,
// dots, dashes, underscores) without checking the finer rules, as Calico does not either.
func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '/' || c == '-'
}

func (l *lexer) next() token {
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case ' ', '\t', '\n', '\r':
			l.pos++
			continue
		}
		break
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tEOF, pos: start}
	}
	c := l.src[start]
	two := func(k tokKind) token {
		l.pos += 2
		return token{kind: k, pos: start, text: l.src[start:l.pos]}
	}
	one := func(k tokKind) token {
		l.pos++
		return token{kind: k, pos: start, text: l.src[start:l.pos]}
	}
	peek := byte(0)
	if start+1 < len(l.src) {
		peek = l.src[start+1]
	}
	switch {
	case c == '(':
		return one(tLParen)
	case c == ')':
		return one(tRParen)
	case c == '{':
		return one(tLBrace)
	case c == '}':
		return one(tRBrace)
	case c == ',':
		return one(tComma)
	case c == '&' && peek == '&':
		return two(tAnd)
	case c == '|' && peek == '|':
		return two(tOr)
	case c == '=' && peek == '=':
		return two(tEq)
	case c == '!' && peek == '=':
		return two(tNe)
	case c == '!':
		return one(tNot)
	case c == '"' || c == '\'':
		// No escapes, as in Calico: a value runs to the next matching quote.
		for i := start + 1; i < len(l.src); i++ {
			if l.src[i] == c {
				l.pos = i + 1
				return token{kind: tString, pos: start, text: l.src[start+1 : i]}
			}
		}
		l.pos = len(l.src)
		return token{kind: tBad, pos: start, text: "an unterminated string"}
	case isKeyByte(c):
		i := start
		for i < len(l.src) && isKeyByte(l.src[i]) {
			i++
		}
		l.pos = i
		return token{kind: tIdent, pos: start, text: l.src[start:i]}
	}
	// Report one whole UTF-8 character rather than a torn byte.
	end := start + 1
	for end < len(l.src) && end-start < 4 && l.src[end]&0xC0 == 0x80 {
		end++
	}
	l.pos = end
	return token{kind: tBad, pos: start, text: "unexpected character " + strconv.Quote(l.src[start:end])}
}
