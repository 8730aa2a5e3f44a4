package dataplane

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/brindle-net/brindle/calc"
	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// nftTableRec owns the `ip brindle` table. It remembers the last spec it wrote and skips
// the kernel while nothing changed; when marked stale (start, periodic resync) it reads the
// table back and writes only what differs, all in one atomic batch, so traffic never sees a
// half-written table and a restart recognises the table it left behind.
type nftTableRec struct {
	h     *nsHandles
	log   *zap.Logger
	last  nftSpec
	elems map[string][]nftables.SetElement // what last was written as, per set
	stale bool
	seq   uint64 // calc.Delta.Seq of the hosts list written last

	busy     sync.Mutex // held by apply, and by a host removal running in the background
	asyncErr error      // the background removal's failure, under busy
	// asyncStale: the background removal found the table not as remembered, under busy.
	asyncStale bool
}

func (n *nftTableRec) apply(d *calc.Desired) (err error) {
	n.busy.Lock()
	bg := false
	defer func() {
		if !bg {
			n.busy.Unlock()
		}
	}()
	if n.asyncStale {
		n.asyncStale, n.stale = false, true
	}
	if prev := n.asyncErr; prev != nil {
		// A background write failed: read the table back now, and say so.
		n.asyncErr, n.stale = nil, true
		defer func() { err = errors.Join(prev, err) }()
	}
	want := buildNFTSpec(d)
	seq := n.seq
	n.seq = 0
	if !n.stale && n.elems != nil && want.equalButHosts(n.last) {
		bg, err = n.applyHosts(want, d.Delta, seq)
		if err == nil && d.Delta != nil {
			n.seq = d.Delta.Seq
		}
		return err
	}
	c, err := n.h.nft()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	defer c.CloseLasting()
	var have *nftState
	if n.stale || n.elems == nil {
		if have, err = readNFT(c); err != nil {
			return fmt.Errorf("nftables: read table %s: %w", nftTable, err)
		}
	} else {
		// Between resyncs the table holds what we last wrote: diff against that instead of
		// reading 10,000 host elements back.
		have = stateFromSpec(n.last, n.elems)
		have.elems[setAllHosts] = addrElems(n.last.hosts) // hosts may have moved on by applyHosts
	}
	elems := map[string][]nftables.SetElement{
		setAllPools:  rangeElems(want.allPools),
		setMasqPools: rangeElems(want.masqPools),
	}
	elems[setAllHosts] = addrElems(want.hosts)
	if err := writeNFT(c, have, want, elems); err != nil {
		n.stale = true
		return fmt.Errorf("nftables: %w", err)
	}
	n.last, n.elems, n.stale = want, elems, false
	if d.Delta != nil {
		n.seq = d.Delta.Seq
	}
	return nil
}

// nftState is what the kernel holds in our table; nil pieces are missing.
type nftState struct {
	table *nftables.Table
	sets  map[string]*nftables.Set
	elems map[string][]nftables.SetElement
	rules map[string][]string // chain -> rule tags
	chain map[string]*nftables.Chain
}

func readNFT(c *nftables.Conn) (*nftState, error) {
	s := &nftState{sets: map[string]*nftables.Set{}, elems: map[string][]nftables.SetElement{},
		rules: map[string][]string{}, chain: map[string]*nftables.Chain{}}
	t, err := c.ListTableOfFamily(nftTable, nftables.TableFamilyIPv4)
	if errors.Is(err, unix.ENOENT) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	s.table = t
	sets, err := c.GetSets(t)
	if err != nil {
		return nil, err
	}
	for _, set := range sets {
		if !natOwned(set.Name) {
			continue // the policy reconciler's (polwrite.go): thousands of them at scale
		}
		s.sets[set.Name] = set
		if s.elems[set.Name], err = c.GetSetElements(set); err != nil {
			return nil, err
		}
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if ch.Table.Name != nftTable || !natOwned(ch.Name) {
			continue
		}
		s.chain[ch.Name] = ch
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return nil, err
		}
		tags := []string{}
		for _, r := range rules {
			tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			tags = append(tags, strings.TrimPrefix(tag, nftTagPrefix))
		}
		s.rules[ch.Name] = tags
	}
	return s, nil
}

// stateFromSpec describes the table as it is after spec was written successfully.
func stateFromSpec(spec nftSpec, elems map[string][]nftables.SetElement) *nftState {
	t := &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4}
	s := &nftState{table: t, sets: map[string]*nftables.Set{}, elems: map[string][]nftables.SetElement{},
		rules: map[string][]string{}, chain: map[string]*nftables.Chain{}}
	for name, es := range elems {
		s.sets[name] = &nftables.Set{Table: t, Name: name, KeyType: nftables.TypeIPAddr, Interval: name != setAllHosts}
		s.elems[name] = es
	}
	s.chain[chainPostNAT] = &nftables.Chain{Name: chainPostNAT, Table: t, Hooknum: nftables.ChainHookPostrouting}
	s.chain[chainInput] = &nftables.Chain{Name: chainInput, Table: t, Hooknum: nftables.ChainHookInput}
	s.rules[chainPostNAT] = append([]string{}, spec.post...)
	s.rules[chainInput] = append([]string{}, spec.input...)
	return s
}

// writeNFT queues the difference between have and want and sends it as one transaction.
func writeNFT(c *nftables.Conn, have *nftState, want nftSpec, wantElems map[string][]nftables.SetElement) error {
	if have.table != nil && !shapesOK(have) {
		// An older or hand-edited layout: replace this reconciler's own sets and chains in
		// this same transaction (never the table: it holds the policy chains too, and
		// deleting it would open every workload for a moment).
		for _, ch := range have.chain {
			c.FlushChain(ch)
			c.DelChain(ch)
		}
		for _, s := range have.sets {
			c.DelSet(s)
		}
		have = &nftState{table: have.table, sets: map[string]*nftables.Set{}, rules: map[string][]string{}, chain: map[string]*nftables.Chain{}}
	}
	table := have.table
	if table == nil {
		table = c.AddTable(&nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4})
	}
	sets := map[string]*nftables.Set{}
	for _, def := range []struct {
		name     string
		interval bool
		elems    []nftables.SetElement
	}{
		{setAllPools, true, wantElems[setAllPools]},
		{setMasqPools, true, wantElems[setMasqPools]},
		{setAllHosts, false, wantElems[setAllHosts]},
	} {
		cur := have.sets[def.name]
		if cur == nil {
			s := &nftables.Set{Table: table, Name: def.name, KeyType: nftables.TypeIPAddr, Interval: def.interval}
			if err := c.AddSet(s, nil); err != nil {
				return fmt.Errorf("set %s: %w", def.name, err)
			}
			if err := addElems(c, s, def.elems); err != nil {
				return fmt.Errorf("set %s: %w", def.name, err)
			}
			sets[def.name] = s
			continue
		}
		sets[def.name] = cur
		if err := syncElems(c, cur, have.elems[def.name], def.elems); err != nil {
			return fmt.Errorf("set %s: %w", def.name, err)
		}
	}
	post := chainFor(c, have, table, chainPostNAT, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	input := chainFor(c, have, table, chainInput, nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter)
	syncRules(c, table, post, have.rules[chainPostNAT], want.post, sets)
	syncRules(c, table, input, have.rules[chainInput], want.input, sets)
	return c.Flush()
}

// shapesOK says whether the existing sets and chains can be updated in place.
func shapesOK(have *nftState) bool {
	for name, interval := range map[string]bool{setAllPools: true, setMasqPools: true, setAllHosts: false} {
		if s := have.sets[name]; s != nil && (s.Interval != interval || s.KeyType.Name != nftables.TypeIPAddr.Name) {
			return false
		}
	}
	for name, hook := range map[string]*nftables.ChainHook{chainPostNAT: nftables.ChainHookPostrouting, chainInput: nftables.ChainHookInput} {
		if ch := have.chain[name]; ch != nil && (ch.Hooknum == nil || *ch.Hooknum != *hook) {
			return false
		}
	}
	return true
}

func chainFor(c *nftables.Conn, have *nftState, t *nftables.Table, name string, typ nftables.ChainType,
	hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
	if ch := have.chain[name]; ch != nil {
		return ch
	}
	return c.AddChain(&nftables.Chain{Name: name, Table: t, Type: typ, Hooknum: hook, Priority: prio})
}

// syncRules rewrites a chain when its tagged rules differ from the wanted list; flushing and
// refilling happen in the same transaction as everything else.
func syncRules(c *nftables.Conn, t *nftables.Table, ch *nftables.Chain, have, want []string, sets map[string]*nftables.Set) {
	if have != nil && slices.Equal(have, want) {
		return
	}
	if have != nil {
		c.FlushChain(ch)
	}
	for _, tag := range want {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: ruleExprs(tag, sets),
			UserData: userdata.AppendString(nil, userdata.TypeComment, nftTagPrefix+tag)})
	}
}

// syncElems adds and deletes elements. Interval sets are refilled whole (flush + add in the
// same transaction): they hold a handful of pool ranges, and a range's two boundary
// elements must change together.
func syncElems(c *nftables.Conn, s *nftables.Set, have, want []nftables.SetElement) error {
	if s.Interval {
		if slices.EqualFunc(sortedElems(have), sortedElems(want), elemEqual) {
			return nil
		}
		c.FlushSet(s)
		return addElems(c, s, want)
	}
	// Plain sets can hold 10,000 hosts: walk both sorted lists once.
	have, want = sortedElems(have), sortedElems(want)
	var add, del []nftables.SetElement
	i, j := 0, 0
	for i < len(have) || j < len(want) {
		switch {
		case j == len(want) || (i < len(have) && bytes.Compare(have[i].Key, want[j].Key) < 0):
			del = append(del, have[i])
			i++
		case i == len(have) || bytes.Compare(have[i].Key, want[j].Key) > 0:
			add = append(add, want[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	for chunk := range slices.Chunk(del, elemChunk) {
		if err := c.SetDeleteElements(s, chunk); err != nil {
			return err
		}
	}
	return addElems(c, s, add)
}

func elemCompare(a, b nftables.SetElement) int {
	if n := bytes.Compare(a.Key, b.Key); n != 0 {
		return n
	}
	switch {
	case a.IntervalEnd == b.IntervalEnd:
		return 0
	case a.IntervalEnd:
		return -1
	}
	return 1
}

func elemEqual(a, b nftables.SetElement) bool { return elemCompare(a, b) == 0 }

// sortedElems returns es sorted by key; already sorted input (ours) is returned as is.
func sortedElems(es []nftables.SetElement) []nftables.SetElement {
	if slices.IsSortedFunc(es, elemCompare) {
		return es
	}
	es = slices.Clone(es)
	slices.SortFunc(es, elemCompare)
	return es
}

// elemChunk bounds the elements per netlink message: the element list is one nested
// attribute whose 16-bit length silently wraps past 64 KiB (10,000 hosts in one message
// left 1,808 in the set).
const elemChunk = 1000

func addElems(c *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) error {
	for chunk := range slices.Chunk(elems, elemChunk) {
		if err := c.SetAddElements(s, chunk); err != nil {
			return err
		}
	}
	return nil
}

func rangeElems(rs []ipRange) []nftables.SetElement {
	var out []nftables.SetElement
	for _, r := range rs {
		out = append(out, nftables.SetElement{Key: u64Key(r.start)})
		if r.end < maxAddrPlus1 {
			out = append(out, nftables.SetElement{Key: u64Key(r.end), IntervalEnd: true})
		}
	}
	return out
}

func addrElems(as []netip.Addr) []nftables.SetElement {
	as = slices.SortedFunc(slices.Values(as), func(a, b netip.Addr) int { return cmp.Compare(addrU64(a), addrU64(b)) })
	as = slices.Compact(as)
	out := make([]nftables.SetElement, 0, len(as))
	keys := make([]byte, 0, 4*len(as)) // one allocation for all keys
	for _, a := range as {
		if a.Is4() {
			b := a.As4()
			keys = append(keys, b[:]...)
			out = append(out, nftables.SetElement{Key: keys[len(keys)-4 : len(keys) : len(keys)]})
		}
	}
	return out
}
