package selector

import (
	"errors"
	"testing"
)

// FuzzParse checks that no input panics, that errors point inside the input, and that every
// selector that parses round-trips through String to an identical tree with identical answers.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "all()", "global()", "has(a)", `!has(a)`, `a == "b"`, `a != 'b'`, `a in {"x", "y"}`,
		`a not in {}`, `a contains "x"`, `a starts with "x"`, `a ends with "x"`,
		`route-reflector=="true"`, `(a == "1" || b == "2") && !c in {"3"}`,
		`projectcalico.org/namespace == "ns" && pcns.team starts with 'x"y'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %T is not a *ParseError", in, err)
			}
			if pe.Pos < 0 || pe.Pos > len(in) || pe.Expected == "" || pe.Found == "" {
				t.Fatalf("Parse(%q): malformed error %+v", in, pe)
			}
			return
		}
		checkRoundTrip(t, in, s)
	})
}
