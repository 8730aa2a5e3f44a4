package dataplane

import (
	"slices"
	"strings"
)

// goneNames lists our chains and sets that want no longer holds (limited to only's names
// when set), chains in the order they can be deleted: endpoint chains refer to group
// chains, group chains to policy chains.
func goneNames(have *polHave, want *polWant, only *polTouched) (chains, sets []string) {
	for name := range have.chains {
		if _, ok := want.chains[name]; !ok && (only == nil || only.chains[name]) {
			chains = append(chains, name)
		}
	}
	slices.SortFunc(chains, func(a, b string) int {
		if ra, rb := chainRank(a), chainRank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	for name := range have.sets {
		if _, ok := want.sets[name]; !ok && (only == nil || only.sets[name]) {
			sets = append(sets, name)
		}
	}
	return chains, sets
}

// chainRank orders deletions: endpoint and fixed chains, then group chains, then policy
// and profile chains.
func chainRank(name string) int {
	switch {
	case strings.HasPrefix(name, "eg-") || strings.HasPrefix(name, "ig-"):
		return 1
	case strings.HasPrefix(name, "pi-") || strings.HasPrefix(name, "po-") || strings.HasPrefix(name, "ri-") || strings.HasPrefix(name, "ro-"):
		return 2
	}
	return 0
}
