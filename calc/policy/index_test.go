package policy

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/brindle-net/brindle/api/selector"
)

// TestIndexMissesNothing: the index may offer extra candidates, never miss a match, both ways
// (selectors for an item's labels, items for a selector).
func TestIndexMissesNothing(t *testing.T) {
	sels := []string{"", "all()", "global()", "a == 'x'", "a == 'x' && b == 'y'", "has(a)", "has(b) && a != 'x'",
		"a in {'x'}", "a in {'x', 'y'}", "!has(a)", "a == 'x' || b == 'y'", "projectcalico.org/namespace == 'ns' && has(b)"}
	var x selIndex[int]
	parsed := make([]*selector.Selector, len(sels))
	for i, s := range sels {
		parsed[i] = selector.MustParse(s)
		x.add(i, parsed[i])
	}
	st := &state{}
	st.init(Options{Node: testNode})
	r := rand.New(rand.NewSource(1))
	for n := range 300 {
		labels := map[string]string{}
		for _, k := range []string{"a", "b", "projectcalico.org/namespace"} {
			if r.Intn(2) == 0 {
				labels[k] = []string{"x", "y", "ns"}[r.Intn(3)]
			}
		}
		it := &item{key: itemKey{kind: kindWorkload, name: fmt.Sprint(n)}, labels: labels}
		st.items[it.key] = it
		st.byLabel.add(it.key, labels)
		got := map[int]bool{}
		x.candidates(labels, func(i int) { got[i] = true })
		for i, s := range parsed {
			if s.Evaluate(labels) && !got[i] {
				t.Errorf("labels %v: selector %q matches but is not a candidate", labels, sels[i])
			}
		}
	}
	for i, s := range parsed {
		got := map[itemKey]bool{}
		st.itemsFor(s, func(it *item) { got[it.key] = true })
		for k, it := range st.items {
			if s.Evaluate(it.labels) && !got[k] {
				t.Errorf("selector %q matches %v but itemsFor skipped it", sels[i], it.labels)
			}
		}
	}
	for i, s := range parsed {
		x.remove(i, s)
	}
	if len(x.by)+len(x.keys)+len(x.rest) != 0 {
		t.Errorf("index not empty after removing everything: %v %v %v", x.by, x.keys, x.rest)
	}
}
