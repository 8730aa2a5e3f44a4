package selector

import "fmt"

// MaxLength bounds a selector's size (docs/security.md, Input limits). Calico sets none, but
// a selector is matched against every endpoint's labels on every change, and real ones are
// a few hundred bytes; 64 KiB still holds an "in" set of a thousand label values.
const MaxLength = 64 << 10

// errContext is how much of a long selector an error quotes on each side of the problem, so
// that a hostile 1 MB selector gives a one-line message.
const errContext = 40

// ParseError says where a selector stops making sense and what would have been accepted there.
type ParseError struct {
	Input    string // the whole selector
	Pos      int    // byte offset of the offending token
	Expected string // e.g. `"==", "!=", "in", "not in", "contains", "starts with" or "ends with"`
	Found    string // e.g. `end of input`, `"&&"`, `label "app"`
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid selector %s: at byte %d: expected %s, found %s", e.quoted(), e.Pos, e.Expected, e.Found)
}

// quoted is the input, or for a long one the bytes around Pos with its length.
func (e *ParseError) quoted() string {
	if len(e.Input) <= 4*errContext {
		return fmt.Sprintf("%q", e.Input)
	}
	from, to := max(e.Pos-errContext, 0), min(e.Pos+errContext, len(e.Input))
	return fmt.Sprintf("(%d bytes) ...%q...", len(e.Input), e.Input[from:to])
}
