package calc

import (
	"cmp"
	"slices"
	"sort"
)

// mergeSorted returns old (sorted by key, keys unique) with the entries at the changed keys
// replaced by what get returns now (dropped when it returns false). changed is sorted and
// compacted in place. With nothing changed old itself is returned: outputs are never
// modified, so sharing them is safe and lets the dataplane see that nothing moved.
func mergeSorted[T any, K comparable](old []T, changed []K, key func(T) K, cmpK func(a, b K) int, get func(K) (T, bool)) []T {
	if len(changed) == 0 {
		return old
	}
	slices.SortFunc(changed, cmpK)
	changed = slices.Compact(changed)
	out := make([]T, 0, len(old)+len(changed))
	i := 0
	for _, k := range changed {
		// Binary search from i: a few changes among 10,000 entries copy runs, not entries.
		j := i + sort.Search(len(old)-i, func(n int) bool { return cmpK(key(old[i+n]), k) >= 0 })
		out = append(out, old[i:j]...)
		i = j
		if i < len(old) && key(old[i]) == k {
			i++
		}
		if v, ok := get(k); ok {
			out = append(out, v)
		}
	}
	return append(out, old[i:]...)
}

func compareDecision(a, b Decision) int {
	if c := cmp.Compare(a.Subject, b.Subject); c != 0 {
		return c
	}
	return cmp.Compare(a.Reason, b.Reason)
}

// mergeSkips returns the sorted multiset old minus del plus add; nil when empty, as a
// Compute without skips has always returned.
func mergeSkips(old, del, add []Decision) []Decision {
	if len(del) == 0 && len(add) == 0 {
		return old
	}
	slices.SortFunc(del, compareDecision)
	slices.SortFunc(add, compareDecision)
	kept, rest := subtract(old, del)
	// A skip added and taken back within one Compute (an input derived twice) is in add,
	// not in old.
	add, _ = subtract(add, rest)
	return mergeDecisions(kept, add)
}

// subtract returns the sorted multiset a minus b, and what of b was not in a.
func subtract(a, b []Decision) (kept, rest []Decision) {
	if len(b) == 0 {
		return a, nil
	}
	kept = make([]Decision, 0, len(a))
	j := 0
	for _, d := range a {
		for j < len(b) && compareDecision(b[j], d) < 0 {
			rest = append(rest, b[j])
			j++
		}
		if j < len(b) && b[j] == d {
			j++
			continue
		}
		kept = append(kept, d)
	}
	return kept, append(rest, b[j:]...)
}

// mergeDecisions merges two sorted lists; nil when both are empty.
func mergeDecisions(a, b []Decision) []Decision {
	if len(a)+len(b) == 0 {
		return nil
	}
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]Decision, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if compareDecision(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
