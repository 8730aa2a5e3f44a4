package dataplane

import (
	"net/netip"
	"slices"
	"testing"
)

// Pools may nest, touch or cover everything; the interval set must get disjoint ranges, and
// reading the elements back must give the same ranges (or a restart would rewrite the table).
func TestNAT6Ranges(t *testing.T) {
	p := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	a := netip.MustParseAddr
	cases := []struct {
		in   []netip.Prefix
		want []range6
	}{
		{p("fd00:10::/112"), []range6{{a("fd00:10::"), a("fd00:10::1:0")}}},
		{p("fd00:10::/112", "fd00:10::40/122", "10.0.0.0/8"), []range6{{a("fd00:10::"), a("fd00:10::1:0")}}},
		{p("fd00:10::1:0/112", "fd00:10::/112"), []range6{{a("fd00:10::"), a("fd00:10::2:0")}}},
		{p("fd00:20::/64", "fd00:10::/64"), []range6{{a("fd00:10::"), a("fd00:10:0:1::")}, {a("fd00:20::"), a("fd00:20:0:1::")}}},
		{p("ffff::/16"), []range6{{a("ffff::"), netip.Addr{}}}},
		{p("::/0", "fd00::/8"), []range6{{a("::"), netip.Addr{}}}},
	}
	for _, c := range cases {
		got := mergeRanges6(c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("%v: ranges %v, want %v", c.in, got, c.want)
		}
		back, ok := rangesFromElems(range6Elems(got))
		if !ok || !slices.Equal(back, got) {
			t.Errorf("%v: elements read back as %v (%v), want %v", c.in, back, ok, got)
		}
	}
}
