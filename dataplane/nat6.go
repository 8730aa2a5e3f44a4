package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// natOutgoing for IPv6 pools lives in its own table, `ip6 brindle`, beside `ip brindle`:
// an nftables table has one family, and Calico likewise keeps its IPv6 NAT in ip6tables'
// nat table (cali-nat-outgoing), separate from IPv4. It holds only
//
//	set all-pools  { type ipv6_addr; flags interval }
//	set masq-pools { type ipv6_addr; flags interval }
//	chain postrouting { type nat hook postrouting priority srcnat;
//	    ip6 saddr @masq-pools ip6 daddr != @all-pools masquerade }
//
// and exists only while an IPv6 pool exists, so IPv4-only hosts keep no IPv6 table. It is
// small and changes rarely (with the pools), so any difference is fixed by replacing the
// whole table in one transaction; a restart reads it back and leaves it alone when equal.

// nat6Spec is the table's intended content: merged pool ranges.
type nat6Spec struct {
	all, masq []range6
}

// range6 is [start, end); end invalid means up to the top of the address space.
type range6 struct{ start, end netip.Addr }

func buildNAT6Spec(n calc.NAT) nat6Spec {
	return nat6Spec{all: mergeRanges6(n.AllPools), masq: mergeRanges6(n.MasqPools)}
}

func (s nat6Spec) empty() bool { return len(s.all) == 0 }

func (s nat6Spec) equal(o nat6Spec) bool {
	return slices.Equal(s.all, o.all) && slices.Equal(s.masq, o.masq)
}

func mergeRanges6(ps []netip.Prefix) []range6 {
	var rs []range6
	for _, p := range ps {
		if !p.Addr().Is6() || p.Addr().Is4In6() {
			continue
		}
		p = p.Masked()
		rs = append(rs, range6{p.Addr(), lastAddr(p).Next()}) // Next of the top is invalid
	}
	slices.SortFunc(rs, func(a, b range6) int { return a.start.Compare(b.start) })
	var out []range6
	for _, r := range rs {
		if n := len(out); n > 0 && (!out[n-1].end.IsValid() || r.start.Compare(out[n-1].end) <= 0) {
			if out[n-1].end.IsValid() && (!r.end.IsValid() || r.end.Compare(out[n-1].end) > 0) {
				out[n-1].end = r.end
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

func range6Elems(rs []range6) []nftables.SetElement {
	var out []nftables.SetElement
	for _, r := range rs {
		s := r.start.As16()
		out = append(out, nftables.SetElement{Key: s[:]})
		if r.end.IsValid() {
			e := r.end.As16()
			out = append(out, nftables.SetElement{Key: e[:], IntervalEnd: true})
		}
	}
	return out
}

const nat6RuleTag = nftTagPrefix + ruleMasq

// nat6Table reconciles `ip6 brindle`.
type nat6Table struct {
	h     *nsHandles
	log   *zap.Logger
	last  nat6Spec
	known bool // last is what the kernel holds
	stale bool
}

func (n *nat6Table) apply(nat calc.NAT) error {
	want := buildNAT6Spec(nat)
	if n.stale {
		n.known, n.stale = false, false
	}
	if n.known && want.equal(n.last) {
		return nil
	}
	c, err := n.h.nft()
	if err != nil {
		return fmt.Errorf("nftables (ip6): %w", err)
	}
	defer c.CloseLasting()
	have, exists, err := readNAT6(c)
	if err != nil {
		return fmt.Errorf("nftables: read table ip6 %s: %w", nftTable, err)
	}
	switch {
	case !exists && want.empty():
	case exists && !want.empty() && have.equal(want):
	default:
		if exists {
			c.DelTable(&nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv6})
		}
		if !want.empty() {
			if err := addNAT6(c, want); err != nil {
				return fmt.Errorf("nftables (ip6): %w", err)
			}
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nftables (ip6): %w", err)
		}
		n.log.Info("IPv6 natOutgoing table written", zap.Int("pools", len(want.all)), zap.Int("masqueraded", len(want.masq)))
	}
	n.last, n.known = want, true
	return nil
}

func addNAT6(c *nftables.Conn, want nat6Spec) error {
	t := c.AddTable(&nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv6})
	sets := map[string]*nftables.Set{}
	for name, rs := range map[string][]range6{setAllPools: want.all, setMasqPools: want.masq} {
		s := &nftables.Set{Table: t, Name: name, KeyType: nftables.TypeIP6Addr, Interval: true}
		if err := c.AddSet(s, range6Elems(rs)); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
		sets[name] = s
	}
	ch := c.AddChain(&nftables.Chain{Name: chainPostNAT, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	// ip6 saddr @masq-pools ip6 daddr != @all-pools masquerade (IPv6 header: source at
	// offset 8, destination at 24, 16 bytes each).
	lookup := func(name string, invert bool) expr.Any {
		return &expr.Lookup{SourceRegister: 1, SetName: sets[name].Name, SetID: sets[name].ID, Invert: invert}
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
		lookup(setMasqPools, false),
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
		lookup(setAllPools, true),
		&expr.Masq{},
	}, UserData: userdata.AppendString(nil, userdata.TypeComment, nat6RuleTag)})
	return nil
}

// readNAT6 reads `ip6 brindle` back as a spec; a table whose shape is not ours reads as
// different from any spec (an empty all-pools), so it is replaced.
func readNAT6(c *nftables.Conn) (nat6Spec, bool, error) {
	t, err := c.ListTableOfFamily(nftTable, nftables.TableFamilyIPv6)
	if errors.Is(err, unix.ENOENT) {
		return nat6Spec{}, false, nil
	}
	if err != nil {
		return nat6Spec{}, false, err
	}
	sets, err := c.GetSets(t)
	if err != nil {
		return nat6Spec{}, true, err
	}
	var spec nat6Spec
	found := 0
	for _, s := range sets {
		if !s.Interval || s.KeyType.Name != nftables.TypeIP6Addr.Name {
			return nat6Spec{}, true, nil
		}
		es, err := c.GetSetElements(s)
		if err != nil {
			return nat6Spec{}, true, err
		}
		rs, ok := rangesFromElems(es)
		if !ok {
			return nat6Spec{}, true, nil
		}
		switch s.Name {
		case setAllPools:
			spec.all, found = rs, found+1
		case setMasqPools:
			spec.masq, found = rs, found+1
		}
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv6)
	if err != nil {
		return nat6Spec{}, true, err
	}
	var tags []string
	for _, ch := range chains {
		if ch.Table.Name != nftTable {
			continue
		}
		if ch.Name != chainPostNAT || ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookPostrouting {
			return nat6Spec{}, true, nil
		}
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return nat6Spec{}, true, err
		}
		for _, r := range rules {
			tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			tags = append(tags, tag)
		}
	}
	if found != 2 || len(sets) != 2 || !slices.Equal(tags, []string{nat6RuleTag}) {
		return nat6Spec{}, true, nil
	}
	return spec, true, nil
}

// rangesFromElems turns interval set elements (in any order) back into ranges.
func rangesFromElems(es []nftables.SetElement) ([]range6, bool) {
	type bound struct {
		a   netip.Addr
		end bool
	}
	var bs []bound
	for _, e := range es {
		a, ok := netip.AddrFromSlice(e.Key)
		if !ok || !a.Is6() {
			return nil, false
		}
		bs = append(bs, bound{a, e.IntervalEnd})
	}
	slices.SortFunc(bs, func(x, y bound) int {
		if c := x.a.Compare(y.a); c != 0 {
			return c
		}
		if x.end == y.end {
			return 0
		}
		if x.end {
			return -1
		}
		return 1
	})
	var out []range6
	for i := 0; i < len(bs); i++ {
		if bs[i].end {
			continue // an end without a start: the implicit one at :: that closes nothing
		}
		r := range6{start: bs[i].a}
		if i+1 < len(bs) && bs[i+1].end {
			r.end = bs[i+1].a
			i++
		}
		out = append(out, r)
	}
	return out, true
}
