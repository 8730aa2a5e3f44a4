package selector

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

var (
	web     = map[string]string{"app": "web", "tier": "frontend", "projectcalico.org/namespace": "prod"}
	db      = map[string]string{"app": "db", "tier": "backend", "env": "prod-eu"}
	bare    = map[string]string{}
	rr      = map[string]string{"route-reflector": "true"}
	quoted  = map[string]string{"q": `say "hi"`, "s": "it's"}
	allSets = []map[string]string{web, db, bare, rr, quoted, nil}
)

func TestEvaluate(t *testing.T) {
	cases := []struct {
		sel  string
		want []bool // web, db, bare, rr, quoted, nil
	}{
		{"", []bool{true, true, true, true, true, true}},
		{"   ", []bool{true, true, true, true, true, true}},
		{"all()", []bool{true, true, true, true, true, true}},
		{"global()", []bool{false, true, true, true, true, true}},
		{"has(app)", []bool{true, true, false, false, false, false}},
		{"!has(app)", []bool{false, false, true, true, true, true}},
		{`app == "web"`, []bool{true, false, false, false, false, false}},
		{`app=='web'`, []bool{true, false, false, false, false, false}},
		{`app != "web"`, []bool{false, true, true, true, true, true}}, // absent key matches
		{`app in {"web", "db"}`, []bool{true, true, false, false, false, false}},
		{`app in {}`, []bool{false, false, false, false, false, false}},
		{`app not in {"web"}`, []bool{false, true, true, true, true, true}},
		{`app not in {}`, []bool{true, true, true, true, true, true}},
		{`env contains "od"`, []bool{false, true, false, false, false, false}},
		{`env starts with "prod"`, []bool{false, true, false, false, false, false}},
		{`env ends with "-eu"`, []bool{false, true, false, false, false, false}},
		{`tier ends with ""`, []bool{true, true, false, false, false, false}},
		{`route-reflector=="true"`, []bool{false, false, false, true, false, false}},
		{`projectcalico.org/namespace == "prod"`, []bool{true, false, false, false, false, false}},
		{`q == 'say "hi"' && s == "it's"`, []bool{false, false, false, false, true, false}},
		// precedence: ! > && > ||
		{`app == "db" || app == "web" && tier == "backend"`, []bool{false, true, false, false, false, false}},
		{`(app == "db" || app == "web") && tier == "frontend"`, []bool{true, false, false, false, false, false}},
		{`!app == "web" && has(tier)`, []bool{false, true, false, false, false, false}},
		{`!(has(app) && has(env))`, []bool{true, false, true, true, true, true}},
		{`!!has(app)`, []bool{true, true, false, false, false, false}},
		{`has(has) || all == "x" || in in {"a"}`, []bool{false, false, false, false, false, false}},
	}
	for _, tc := range cases {
		s, err := Parse(tc.sel)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.sel, err)
			continue
		}
		for i, labels := range allSets {
			if got := s.Evaluate(labels); got != tc.want[i] {
				t.Errorf("Parse(%q).Evaluate(%v) = %v, want %v", tc.sel, labels, got, tc.want[i])
			}
		}
		checkRoundTrip(t, tc.sel, s)
	}
}

func TestCanonicalString(t *testing.T) {
	cases := map[string]string{
		"":                                      "all()",
		`a=="x"`:                                `a == "x"`,
		`a == 'x'`:                              `a == "x"`,
		`a == 'x"y'`:                            `a == 'x"y'`,
		`a in {'b','a','b'}`:                    `a in {"a", "b"}`,
		`a not in {}`:                           `a not in {}`,
		`((has(a)))`:                            `has(a)`,
		`(has(a) && has(b)) && has(c)`:          `has(a) && has(b) && has(c)`,
		`has(a) || (has(b) || has(c))`:          `has(a) || has(b) || has(c)`,
		`(has(a) || has(b)) && has(c)`:          `(has(a) || has(b)) && has(c)`,
		`has(a) || has(b) && has(c)`:            `has(a) || has(b) && has(c)`,
		`!(has(a) || has(b))`:                   `!(has(a) || has(b))`,
		`! has( a )`:                            `!has(a)`,
		"k\tstarts   with\n'x'":                 `k starts with "x"`,
		`x.y/z-1_2 ends with "."`:               `x.y/z-1_2 ends with "."`,
		`global() && !all()`:                    `global() && !all()`,
		`a contains "" || b != "c"`:             `a contains "" || b != "c"`,
		`!(a == "1" && (b == "2" || c == "3"))`: `!(a == "1" && (b == "2" || c == "3"))`,
	}
	for in, want := range cases {
		s, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := s.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", in, got, want)
		}
		checkRoundTrip(t, in, s)
	}
}

// checkRoundTrip asserts Parse(s.String()) gives the same tree and the same answers.
func checkRoundTrip(t testing.TB, in string, s *Selector) {
	t.Helper()
	canon := s.String()
	again, err := Parse(canon)
	if err != nil {
		t.Fatalf("Parse(%q) ok but its String %q does not parse: %v", in, canon, err)
	}
	if !reflect.DeepEqual(s.root, again.root) {
		t.Fatalf("Parse(%q): tree %#v, but Parse(String()=%q) gives %#v", in, s.root, canon, again.root)
	}
	if again.String() != canon {
		t.Fatalf("String not stable: %q then %q", canon, again.String())
	}
	for _, l := range allSets {
		if s.Evaluate(l) != again.Evaluate(l) {
			t.Fatalf("Parse(%q) and Parse(%q) disagree on %v", in, canon, l)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		sel      string
		pos      int
		expected string
		found    string
	}{
		{`app ==`, 6, "a quoted string", "end of input"},
		{`app == web`, 7, "a quoted string", `label "web"`},
		{`app`, 3, `"==", "!="`, "end of input"},
		{`app = "x"`, 4, `"==", "!="`, `unexpected character "="`},
		{`has(app`, 7, `")"`, "end of input"},
		{`has()`, 4, "a label key", `")"`},
		{`foo(x)`, 0, `"has(<key>)"`, "function foo()"},
		{`a == "x" b == "y"`, 9, `"&&", "||" or end of input`, `label "b"`},
		{`a == "x" &&`, 11, `"!", "("`, "end of input"},
		{`(has(a)`, 7, `")"`, "end of input"},
		{`a in {"x" "y"}`, 10, `"," or "}"`, `string "y"`},
		{`a in {"x",}`, 10, "a quoted string", `"}"`},
		{`a in "x"`, 5, `"{"`, `string "x"`},
		{`a not "x"`, 6, `"in"`, `string "x"`},
		{`a starts "x"`, 9, `"with"`, `string "x"`},
		{`a == "x`, 5, "a quoted string", "an unterminated string"},
		{`a == "x" & b`, 9, `"&&", "||"`, `unexpected character "&"`},
		{`a == "é" && ü`, 13, `"!", "("`, `unexpected character "ü"`},
		{`)`, 0, `"!", "("`, `")"`},
		{strings.Repeat("(", 300) + "all()" + strings.Repeat(")", 300), 256, "less nesting", `"("`},
	}
	for _, tc := range cases {
		s, err := Parse(tc.sel)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", tc.sel, s)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): error %T is not a *ParseError", tc.sel, err)
			continue
		}
		if pe.Pos != tc.pos || !strings.Contains(pe.Expected, tc.expected) || pe.Found != tc.found {
			t.Errorf("Parse(%q): got pos %d expected %q found %q; want pos %d expected ~%q found %q",
				tc.sel, pe.Pos, pe.Expected, pe.Found, tc.pos, tc.expected, tc.found)
		}
		if msg := err.Error(); !strings.Contains(msg, "at byte") || !strings.Contains(msg, tc.found) {
			t.Errorf("Parse(%q): message %q lacks the position or the token", tc.sel, msg)
		}
	}
}

func TestNilSelectorMatchesAll(t *testing.T) {
	var s *Selector
	if !s.Evaluate(db) || s.String() != "all()" {
		t.Fatalf("nil selector: Evaluate=%v String=%q", s.Evaluate(db), s.String())
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	s := MustParse(`(app in {"a", "b", "db", "web"} || env starts with "prod") && !has(x) && tier != "y" && global()`)
	n := testing.AllocsPerRun(100, func() { s.Evaluate(db) })
	if n != 0 {
		t.Fatalf("Evaluate allocated %v times per call", n)
	}
}
