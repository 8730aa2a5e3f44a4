package policy

import (
	"cmp"
	"net/netip"
	"slices"
)

// aset is an active set: referenced by at least one chain in the Program. Its members are kept
// with reference counts (two items may contribute the same prefix) and the members whose count
// crossed zero since the last Flush are remembered, so a Flush touches only those.
type aset struct {
	id      SetID
	spec    *setSpec
	matched map[itemKey]struct{}
	nets    map[netip.Prefix]int
	aps     map[AddrPort]int
	wide    int // distinct members in nets shorter than a host prefix
	tNets   map[netip.Prefix]struct{}
	tAps    map[AddrPort]struct{}
	out     *Set
	outWide bool // out was computed with wide members (some host members may be covered)
}

func newAset(id SetID, sp *setSpec) *aset {
	a := &aset{id: id, spec: sp, matched: map[itemKey]struct{}{},
		out: &Set{ID: id, Kind: sp.kind, Family: sp.family, Source: sp.source()}}
	if sp.kind == SetNets {
		a.nets = map[netip.Prefix]int{}
	} else {
		a.aps = map[AddrPort]int{}
	}
	return a
}

// contribute adds (sign 1) or removes (sign -1) what an item puts into the set.
func (s *state) contribute(a *aset, it *item, sign int) {
	fam4 := a.spec.family == 4
	if a.spec.kind == SetNets {
		for _, p := range it.nets {
			if p.Addr().Is4() != fam4 {
				continue
			}
			n := a.nets[p] + sign
			if n == 0 || n == 1 && sign > 0 {
				s.touchNet(a, p)
				if p.Bits() != p.Addr().BitLen() {
					a.wide += sign
				}
			}
			if n == 0 {
				delete(a.nets, p)
			} else {
				a.nets[p] = n
			}
		}
		return
	}
	for _, np := range it.ports {
		if np.name != a.spec.portName || np.proto != a.spec.proto {
			continue
		}
		for _, p := range it.nets {
			if p.Addr().Is4() != fam4 || p.Bits() != p.Addr().BitLen() {
				continue
			}
			m := AddrPort{p.Addr(), np.proto, np.port}
			n := a.aps[m] + sign
			if n == 0 || n == 1 && sign > 0 {
				if a.tAps == nil {
					a.tAps = map[AddrPort]struct{}{}
				}
				a.tAps[m] = struct{}{}
				s.dirtySets[a.id] = a
			}
			if n == 0 {
				delete(a.aps, m)
			} else {
				a.aps[m] = n
			}
		}
	}
}

func (s *state) touchNet(a *aset, p netip.Prefix) {
	if a.tNets == nil {
		a.tNets = map[netip.Prefix]struct{}{}
	}
	a.tNets[p] = struct{}{}
	s.dirtySets[a.id] = a
}

// joinSets puts an item into the active sets its labels match. Only sets filed under one of its
// labels, or under none, can match.
func (s *state) joinSets(it *item) {
	s.byLabel.add(it.key, it.labels)
	s.setIdx.candidates(it.labels, func(id SetID) {
		if a := s.sets[id]; a.spec.sel.Evaluate(it.labels) {
			a.matched[it.key] = struct{}{}
			s.contribute(a, it, 1)
		}
	})
}

// leaveSets takes an item out of every set it is in: all of them are candidates for its
// labels, since it joined them with those labels.
func (s *state) leaveSets(it *item) {
	s.byLabel.remove(it.key, it.labels)
	s.setIdx.candidates(it.labels, func(id SetID) {
		a := s.sets[id]
		if _, ok := a.matched[it.key]; ok {
			delete(a.matched, it.key)
			s.contribute(a, it, -1)
		}
	})
}

// fill evaluates a newly active set against the items it may match.
func (s *state) fill(a *aset) {
	s.itemsFor(a.spec.sel, func(it *item) {
		if a.spec.sel.Evaluate(it.labels) {
			a.matched[it.key] = struct{}{}
			s.contribute(a, it, 1)
		}
	})
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func compareAddrPort(a, b AddrPort) int {
	if c := a.Addr.Compare(b.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Proto, b.Proto); c != 0 {
		return c
	}
	return cmp.Compare(a.Port, b.Port)
}

// settle brings a.out up to date and returns what changed.
func (a *aset) settle() SetDelta {
	var d SetDelta
	if a.spec.kind == SetAddrPorts {
		for m := range a.tAps {
			_, want := a.aps[m]
			i, have := slices.BinarySearchFunc(a.out.Members, m, compareAddrPort)
			switch {
			case want && !have:
				a.out.Members = slices.Insert(a.out.Members, i, m)
				d.AddMembers = append(d.AddMembers, m)
			case !want && have:
				a.out.Members = slices.Delete(a.out.Members, i, i+1)
				d.DelMembers = append(d.DelMembers, m)
			}
		}
		a.tAps = nil
		if len(a.out.Members) == 0 {
			a.out.Members = nil // one spelling of "empty", so Programs compare equal
		}
		slices.SortFunc(d.AddMembers, compareAddrPort)
		slices.SortFunc(d.DelMembers, compareAddrPort)
		return d
	}
	if a.wide == 0 && !a.outWide {
		// Host prefixes only: members never overlap, each touched member is decided alone.
		for p := range a.tNets {
			_, want := a.nets[p]
			i, have := slices.BinarySearchFunc(a.out.Nets, p, comparePrefix)
			switch {
			case want && !have:
				a.out.Nets = slices.Insert(a.out.Nets, i, p)
				d.AddNets = append(d.AddNets, p)
			case !want && have:
				a.out.Nets = slices.Delete(a.out.Nets, i, i+1)
				d.DelNets = append(d.DelNets, p)
			}
		}
	} else {
		next := disjoint(a.nets)
		d.AddNets, d.DelNets = diffSorted(a.out.Nets, next)
		a.out.Nets = next
		a.outWide = a.wide > 0
	}
	a.tNets = nil
	if len(a.out.Nets) == 0 {
		a.out.Nets = nil
	}
	slices.SortFunc(d.AddNets, comparePrefix)
	slices.SortFunc(d.DelNets, comparePrefix)
	return d
}

// disjoint returns the members not covered by another member, sorted: what an interval set
// can hold (prefixes either nest or are disjoint, so dropping the covered ones loses nothing).
func disjoint(m map[netip.Prefix]int) []netip.Prefix {
	all := make([]netip.Prefix, 0, len(m))
	for p := range m {
		all = append(all, p)
	}
	slices.SortFunc(all, comparePrefix)
	out := all[:0]
	for _, p := range all {
		if n := len(out); n > 0 && out[n-1].Bits() <= p.Bits() && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return slices.Clip(out)
}

func diffSorted(old, next []netip.Prefix) (add, del []netip.Prefix) {
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		switch {
		case j == len(next) || i < len(old) && comparePrefix(old[i], next[j]) < 0:
			del = append(del, old[i])
			i++
		case i == len(old) || comparePrefix(old[i], next[j]) > 0:
			add = append(add, next[j])
			j++
		default:
			i++
			j++
		}
	}
	return
}
