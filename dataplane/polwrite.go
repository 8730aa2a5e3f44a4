package dataplane

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"go.uber.org/zap"
)

// polTable owns the policy objects of the `ip brindle` table (everything in it but the NAT
// reconciler's sets and chains). It remembers what it wrote and sends one transaction per
// apply holding only the difference: changed chains are flushed and refilled, new chains
// and sets added, set and map elements added or removed, departed chains and sets deleted.
// When stale (start, resync, a failed write, the table gone) it reads the table back first,
// so a restarted agent recognises its chains by the content hash in their first rule and
// rewrites only what differs, in one transaction: the old rules stay in force until the
// new ones replace them.
type polTable struct {
	h      *nsHandles
	log    *zap.Logger
	stale  bool
	have   *polHave
	want   *polWant   // what have was written from; the base of incremental applies
	spec   PolicySpec // what want was built from (ApplyPolicyProgram keeps it current)
	writes int        // transactions sent

	collect *time.Timer // deletes superseded rules once the policy is quiet (polsupersede.go)
	closed  bool
	v6      bool // the table is `ip6 brindle` (polv6.go)
}

// polHave is what the kernel holds of ours.
type polHave struct {
	table  bool
	chains map[string]string // chain -> content hash ("" when not ours or not recognised)
	sets   map[string]*polSetHave
	dead   map[string]bool // chains that hold superseded rules after their current ones
}

type polSetHave struct {
	shape string // see setShape
	elems map[string]nftables.SetElement
}

// setShape is what cannot change in place about a set: key and data types and flags.
// google/nftables v0.3.0 reads a verdict map's key type back as "verdict", so maps (ours
// are all ifname : verdict) are compared by their flags only.
func setShape(s *nftables.Set) string {
	if s.IsMap {
		return "map"
	}
	return fmt.Sprintf("%s/%s/interval=%v/map=%v/concat=%v", s.KeyType.Name, s.DataType.Name, s.Interval, s.IsMap, s.Concatenation)
}

// natOwned are the NAT reconciler's objects in the shared table.
func natOwned(name string) bool {
	switch name {
	case setAllPools, setMasqPools, setAllHosts, chainPostNAT, chainInput:
		return true
	}
	return false
}

func (p *polTable) apply(spec PolicySpec) error {
	want := buildPolWant(spec)
	c, err := p.h.nftBulk()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	defer c.CloseLasting()
	have, read := p.have, false
	if p.stale || have == nil {
		if have, err = readPol(c, p.h.ns, spec.V6); err != nil {
			return fmt.Errorf("nftables: read policy in table %s: %w", polTableOf(spec.V6).Name, err)
		}
		read = true
	}
	if !queuePol(c, have, want, nil, read) {
		p.have, p.want, p.stale = have, want, false
		return nil
	}
	if err := c.Flush(); err != nil {
		p.stale = true
		return fmt.Errorf("nftables: policy transaction: %w", err)
	}
	p.writes++
	p.have, p.want, p.stale = haveFromWant(want), want, false
	return nil
}

// polTableOf is the table a policy reconciler owns objects in: `ip brindle`, or with v6
// `ip6 brindle`.
func polTableOf(v6 bool) *nftables.Table {
	if v6 {
		return &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv6}
	}
	return &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4}
}

// polTouched limits a write to the named chains and sets (an incremental apply); nil means
// everything is compared.
type polTouched struct {
	chains, sets map[string]bool
	superseded   []string // filled by queuePol: chains whose old rules stay behind a return
	cleaned      []string // filled by queuePol: chains rewritten with only their current rules
}

// queuePol queues the difference between have and want on c in an order the kernel
// accepts inside one transaction: objects are created before anything refers to them and
// deleted after the last reference is gone. It reports whether anything was queued.
func queuePol(c *nftables.Conn, have *polHave, want *polWant, only *polTouched, refill bool) bool {
	t := polTableOf(want.v6)
	queued := false
	if !have.table {
		c.AddTable(t)
		queued = true
	}
	if replaceMisshapen(c, t, have, want) {
		queued = true
	}
	var setNames, chainNames []string
	if only == nil {
		setNames, chainNames = slices.Sorted(maps.Keys(want.sets)), slices.Sorted(maps.Keys(want.chains))
	} else {
		setNames, chainNames = slices.Sorted(maps.Keys(only.sets)), slices.Sorted(maps.Keys(only.chains))
	}
	sets := map[string]*nftables.Set{}
	for _, name := range setNames {
		sw := want.sets[name]
		if sw == nil {
			continue
		}
		s := sw.proto
		s.Table = t
		if have.sets[name] == nil {
			_ = c.AddSet(&s, nil) // errors only for anonymous non-constant sets
			queued = true
		}
		sets[name] = &s
	}
	chains := map[string]*nftables.Chain{}
	for _, name := range chainNames {
		cw := want.chains[name]
		if cw == nil {
			continue
		}
		ch := &nftables.Chain{Name: name, Table: t}
		if _, ok := have.chains[name]; !ok {
			if cw.hook != nil {
				pol := nftables.ChainPolicyAccept
				ch.Type, ch.Hooknum, ch.Priority, ch.Policy = nftables.ChainTypeFilter, cw.hook, cw.priority(), &pol
			}
			c.AddChain(ch)
			queued = true
		}
		chains[name] = ch
	}
	for _, name := range setNames {
		if want.sets[name] != nil && queueElems(c, sets[name], have.sets[name], want.sets[name], refill) {
			queued = true
		}
	}
	gone, goneSets := goneNames(have, want, only)
	// Deleting anything costs the kernel's slow path anyway, and superseded rules may
	// still refer to what is deleted: then every chain with superseded rules is rewritten
	// clean in this transaction, and nothing is superseded.
	clean := only == nil || len(gone)+len(goneSets) > 0
	if clean && only != nil {
		for _, name := range slices.Sorted(maps.Keys(have.dead)) {
			if chains[name] == nil && want.chains[name] != nil {
				chainNames = append(chainNames, name)
				chains[name] = &nftables.Chain{Name: name, Table: t}
			}
		}
	}
	for _, name := range chainNames {
		cw := want.chains[name]
		if cw == nil {
			continue
		}
		h, ok := have.chains[name]
		if ok && h == cw.hash && !(clean && have.dead[name]) {
			continue
		}
		if ok && !clean && cw.hook == nil {
			// An incremental write only adds rules; see polsupersede.go.
			queueSupersede(c, chains[name], cw)
			only.superseded = append(only.superseded, name)
			queued = true
			continue
		}
		if ok {
			c.FlushChain(chains[name])
		}
		queueRules(c, chains[name], cw)
		if only != nil {
			only.cleaned = append(only.cleaned, name)
		}
		queued = true
	}
	flushHostMaps(c, t, goneSets)
	for _, name := range gone {
		ch := &nftables.Chain{Name: name, Table: t}
		c.FlushChain(ch)
		c.DelChain(ch)
		queued = true
	}
	for _, name := range goneSets {
		c.DelSet(&nftables.Set{Name: name, Table: t})
		queued = true
	}
	return queued
}

// replaceMisshapen handles sets whose shape differs from the wanted one (an older
// brindle's layout, a hand edit): they cannot be changed in place and cannot be deleted
// while rules refer to them, so every chain of ours is flushed first (and refilled later in
// this transaction, as its hash is forgotten), then the set is deleted and added anew. All
// in the one transaction: the old rules hold until the new ones replace them.
func replaceMisshapen(c *nftables.Conn, t *nftables.Table, have *polHave, want *polWant) bool {
	var bad []string
	for name, hs := range have.sets {
		if sw := want.sets[name]; sw != nil && hs.shape != setShape(&sw.proto) {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return false
	}
	for name := range have.chains {
		c.FlushChain(&nftables.Chain{Name: name, Table: t})
		have.chains[name] = ""
	}
	for _, name := range bad {
		c.DelSet(&nftables.Set{Name: name, Table: t})
		delete(have.sets, name)
	}
	return true
}

// queueElems adds and removes elements, deletions first. The interval sets brindle builds
// hold one range per member (members never overlap), so adding or removing a member is
// its own pair of elements. With refill, interval sets that differ are flushed and refilled
// instead (inside the transaction): used when the elements were read from the kernel, which
// may hold another layout (an older brindle's merged ranges), where a pair-wise diff could
// ask the kernel for overlapping intervals.
func queueElems(c *nftables.Conn, s *nftables.Set, have *polSetHave, want *polSetWant, refill bool) bool {
	var cur map[string]nftables.SetElement
	if have != nil {
		cur = have.elems
	}
	var add, del []nftables.SetElement
	for id, e := range want.elems {
		if _, ok := cur[id]; !ok {
			add = append(add, e)
		}
	}
	for id, e := range cur {
		if _, ok := want.elems[id]; !ok {
			del = append(del, e)
		}
	}
	if len(add)+len(del) == 0 {
		return false
	}
	if s.Interval && refill {
		if have != nil {
			c.FlushSet(s)
		}
		add = slices.Collect(maps.Values(want.elems))
		del = nil
	}
	slices.SortFunc(add, elemCompare)
	for chunk := range slices.Chunk(del, elemChunk) {
		_ = c.SetDeleteElements(s, chunk) // errors only for malformed sets, which we do not build
	}
	_ = addElems(c, s, add)
	return true
}

// queueRules fills a chain: a counter rule whose comment holds the content hash, then
// the rendered rules, each tagged with the Calico rule it comes from.
func queueRules(c *nftables.Conn, ch *nftables.Chain, cw *polChainWant) {
	c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: []expr.Any{&expr.Counter{}},
		UserData: userdata.AppendString(nil, userdata.TypeComment, polHashTag+cw.hash)})
	for _, r := range cw.render(func(name string) *nftables.Set { return setByName(ch.Table, name) }) {
		c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: r.exprs,
			UserData: userdata.AppendString(nil, userdata.TypeComment, r.tag)})
	}
}

// setByName refers to a set by name; the kernel resolves names of sets added earlier in
// the same transaction as well.
func setByName(t *nftables.Table, name string) *nftables.Set {
	return &nftables.Set{Table: t, Name: name}
}

const polHashTag = "h:"

func haveFromWant(w *polWant) *polHave {
	h := &polHave{table: true, chains: map[string]string{}, sets: map[string]*polSetHave{}, dead: map[string]bool{}}
	for name, cw := range w.chains {
		h.chains[name] = cw.hash
	}
	for name, sw := range w.sets {
		h.sets[name] = &polSetHave{shape: setShape(&sw.proto), elems: sw.elems}
	}
	return h
}
