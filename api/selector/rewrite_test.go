package selector

import "testing"

func TestPrefixKeys(t *testing.T) {
	for _, c := range []struct {
		in      string
		nsFuncs bool
		want    string
	}{
		{`name == "prod"`, true, `pcns.name == "prod"`},
		{`all()`, true, `has(projectcalico.org/namespace)`},
		{`global()`, true, `!has(projectcalico.org/namespace)`},
		{``, true, `has(projectcalico.org/namespace)`},
		{`all()`, false, `all()`},
		{`global()`, false, `global()`},
		{`has(a) && (b in {"x", "y"} || !(c != "z"))`, false, `has(pcsa.a) && (pcsa.b in {"x", "y"} || !pcsa.c != "z")`},
	} {
		got := MustParse(c.in).PrefixKeys(map[bool]string{true: "pcns.", false: "pcsa."}[c.nsFuncs], c.nsFuncs).String()
		if got != c.want {
			t.Errorf("PrefixKeys(%q, %v) = %s, want %s", c.in, c.nsFuncs, got, c.want)
		}
		if _, err := Parse(got); err != nil {
			t.Errorf("%s does not parse back: %v", got, err)
		}
	}
	s := MustParse(`pcns.name == "prod"`)
	if !MustParse(`name == "prod"`).PrefixKeys("pcns.", true).Equal(s) {
		t.Error("prefixed selector not equal to the one written with the prefix")
	}
}

func TestRequired(t *testing.T) {
	for in, want := range map[string]string{
		`app == "a"`: `app=a`,
		`has(x) && projectcalico.org/namespace == "ns" && app in {"a"}`: `app=a`,
		`projectcalico.org/namespace == "ns" && has(x)`:                 `projectcalico.org/namespace=ns`,
		`app == "a" || app == "b"`:                                      ``,
		`app != "a"`:                                                    ``,
		`all()`:                                                         ``,
		`!(app == "a")`:                                                 ``,
		`app in {"a", "b"}`:                                             ``,
	} {
		k, v, ok := MustParse(in).Required()
		got := ""
		if ok {
			got = k + "=" + v
		}
		if got != want {
			t.Errorf("Required(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestRequiredKey(t *testing.T) {
	for in, want := range map[string]string{
		`has(net1)`:                `net1`,
		`role != "x" && has(net1)`: `net1`,
		`has(a) && b == "c"`:       `b`,
		`has(a) || has(b)`:         ``,
		`!has(a)`:                  ``,
		`global()`:                 ``,
	} {
		got, _ := MustParse(in).RequiredKey()
		if got != want {
			t.Errorf("RequiredKey(%s) = %q, want %q", in, got, want)
		}
	}
}
