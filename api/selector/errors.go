package selector

import "fmt"

// ParseError says where a selector stops making sense and what would have been accepted there.
type ParseError struct {
	Input    string // the whole selector
	Pos      int    // byte offset of the offending token
	Expected string // e.g. `"==", "!=", "in", "not in", "contains", "starts with" or "ends with"`
	Found    string // e.g. `end of input`, `"&&"`, `label "app"`
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid selector %q: at byte %d: expected %s, found %s", e.Input, e.Pos, e.Expected, e.Found)
}
