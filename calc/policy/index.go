package policy

import "github.com/brindle-net/brindle/api/selector"

// selIndex files selectors under a label they require (selector.Required), so that an item's
// labels lead to the few selectors that can match it instead of all of them: at 1,000 policies
// with a rule selector each, evaluating every selector against every endpoint change would
// dominate (felix's labelindex does the same with its label restrictions).
type selIndex[T comparable] struct {
	by   map[string]map[string]map[T]struct{}
	keys map[string]map[T]struct{} // selectors that require only a key (has(k))
	rest map[T]struct{}
}

func (x *selIndex[T]) add(id T, sel *selector.Selector) {
	if x.by == nil {
		x.by, x.keys, x.rest = map[string]map[string]map[T]struct{}{}, map[string]map[T]struct{}{}, map[T]struct{}{}
	}
	k, v, ok := sel.Required()
	if !ok {
		if k, ok := sel.RequiredKey(); ok {
			if x.keys[k] == nil {
				x.keys[k] = map[T]struct{}{}
			}
			x.keys[k][id] = struct{}{}
			return
		}
		x.rest[id] = struct{}{}
		return
	}
	vs := x.by[k]
	if vs == nil {
		vs = map[string]map[T]struct{}{}
		x.by[k] = vs
	}
	ids := vs[v]
	if ids == nil {
		ids = map[T]struct{}{}
		vs[v] = ids
	}
	ids[id] = struct{}{}
}

func (x *selIndex[T]) remove(id T, sel *selector.Selector) {
	k, v, ok := sel.Required()
	if !ok {
		if k, ok := sel.RequiredKey(); ok {
			delete(x.keys[k], id)
			if len(x.keys[k]) == 0 {
				delete(x.keys, k)
			}
			return
		}
		delete(x.rest, id)
		return
	}
	if ids := x.by[k][v]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(x.by[k], v)
			if len(x.by[k]) == 0 {
				delete(x.by, k)
			}
		}
	}
}

// candidates calls f for every selector that may match labels (each once).
func (x *selIndex[T]) candidates(labels map[string]string, f func(T)) {
	for k, v := range labels {
		for id := range x.by[k][v] {
			f(id)
		}
		for id := range x.keys[k] {
			f(id)
		}
	}
	for id := range x.rest {
		f(id)
	}
}

// labelIndex files items by each of their labels, for the reverse question: which items may a
// selector match.
type labelIndex map[string]map[string]map[itemKey]struct{}

func (x labelIndex) add(k itemKey, labels map[string]string) {
	for lk, lv := range labels {
		vs := x[lk]
		if vs == nil {
			vs = map[string]map[itemKey]struct{}{}
			x[lk] = vs
		}
		ks := vs[lv]
		if ks == nil {
			ks = map[itemKey]struct{}{}
			vs[lv] = ks
		}
		ks[k] = struct{}{}
	}
}

func (x labelIndex) remove(k itemKey, labels map[string]string) {
	for lk, lv := range labels {
		if ks := x[lk][lv]; ks != nil {
			delete(ks, k)
			if len(ks) == 0 {
				delete(x[lk], lv)
				if len(x[lk]) == 0 {
					delete(x, lk)
				}
			}
		}
	}
}

// itemsFor calls f for every item sel may match: those carrying its required label, or all.
func (s *state) itemsFor(sel *selector.Selector, f func(*item)) {
	if k, v, ok := sel.Required(); ok {
		for key := range s.byLabel[k][v] {
			f(s.items[key])
		}
		return
	}
	if k, ok := sel.RequiredKey(); ok {
		for _, keys := range s.byLabel[k] {
			for key := range keys {
				f(s.items[key])
			}
		}
		return
	}
	for _, it := range s.items {
		f(it)
	}
}
