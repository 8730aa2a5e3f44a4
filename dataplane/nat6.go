package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The IPv6 side of brindle's nftables lives in its own table, `ip6 brindle`, beside `ip
// brindle`: an nftables table has one family, and Calico likewise keeps IPv6 in ip6tables.
// It holds
//
//	set all-pools  { type ipv6_addr; flags interval }
//	set masq-pools { type ipv6_addr; flags interval }
//	chain postrouting { type nat hook postrouting priority srcnat;
//	    ip6 saddr @masq-pools ip6 daddr != @all-pools masquerade }
//
// and, while vxlan-v6.calico is in use, the IPv6 twin of the IPv4 VXLAN filter:
//
//	set all-hosts { type ipv6_addr }   (the nodes' IPv6 addresses)
//	chain input { type filter hook input priority filter;
//	    udp dport 4789 ip6 saddr @all-hosts accept; udp dport 4789 counter drop }
//
// The workload policy for IPv6 lives in the same table (polv6.go), so these objects are
// owned by name (natOwned): they change with the pools and, in IPv6 VXLAN clusters, the
// nodes, and any difference is fixed by deleting and re-adding these objects only, in one
// transaction; a restart reads them back and leaves them alone when equal. The table itself
// is deleted only when nothing else is in it.

// nat6Spec is the table's intended content: merged pool ranges and, with vxlan, the hosts
// VXLAN over IPv6 is accepted from.
type nat6Spec struct {
	all, masq []range6
	vxlan     bool
	hosts     []netip.Addr // sorted
	// sets and chains name the objects read back from the kernel (not compared): what
	// delNAT6 deletes.
	sets, chains []string
}

// range6 is [start, end); end invalid means up to the top of the address space.
type range6 struct{ start, end netip.Addr }

func buildNAT6Spec(d *calc.Desired) nat6Spec {
	s := nat6Spec{all: mergeRanges6(d.NAT.AllPools), masq: mergeRanges6(d.NAT.MasqPools), vxlan: d.AcceptVXLANV6}
	if s.vxlan {
		s.hosts = slices.Compact(slices.SortedFunc(slices.Values(d.TunnelSourcesV6), netip.Addr.Compare))
	}
	return s
}

func (s nat6Spec) empty() bool { return len(s.all) == 0 }

func (s nat6Spec) equal(o nat6Spec) bool {
	return slices.Equal(s.all, o.all) && slices.Equal(s.masq, o.masq) && s.vxlan == o.vxlan && slices.Equal(s.hosts, o.hosts)
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

var nat6InputTags = []string{nftTagPrefix + ruleVXLANOK, nftTagPrefix + ruleVXLANDrop}

// nat6Table reconciles `ip6 brindle`.
type nat6Table struct {
	h     *nsHandles
	log   *zap.Logger
	last  nat6Spec
	known bool // last is what the kernel holds
	stale bool
}

func (n *nat6Table) apply(d *calc.Desired) error {
	want := buildNAT6Spec(d)
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
	have, exists, foreign, err := readNAT6(c)
	if err != nil {
		return fmt.Errorf("nftables: read table ip6 %s: %w", nftTable, err)
	}
	switch {
	case !exists && want.empty():
	case exists && !want.empty() && have.equal(want):
	default:
		t := &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv6}
		switch {
		case exists && want.empty() && !foreign:
			c.DelTable(t)
		case exists:
			delNAT6(c, t, have)
		}
		if !want.empty() {
			if err := addNAT6(c, want); err != nil {
				return fmt.Errorf("nftables (ip6): %w", err)
			}
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("nftables (ip6): %w", err)
		}
		n.log.Info("IPv6 nftables table written", zap.Int("pools", len(want.all)), zap.Int("masqueraded", len(want.masq)),
			zap.Bool("vxlanFilter", want.vxlan), zap.Int("hosts", len(want.hosts)))
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
	if !want.vxlan {
		return nil
	}
	hosts := &nftables.Set{Table: t, Name: setAllHosts, KeyType: nftables.TypeIP6Addr}
	var elems []nftables.SetElement
	for _, h := range want.hosts {
		b := h.As16()
		elems = append(elems, nftables.SetElement{Key: b[:]})
	}
	if err := c.AddSet(hosts, nil); err != nil {
		return fmt.Errorf("set %s: %w", setAllHosts, err)
	}
	if err := addElems(c, hosts, elems); err != nil {
		return fmt.Errorf("set %s: %w", setAllHosts, err)
	}
	in := c.AddChain(&nftables.Chain{Name: chainInput, Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter})
	vxlan := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{ipProtoUDP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(vxlanUDPPort)},
	}
	allow := append(slices.Clone(vxlan),
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
		&expr.Lookup{SourceRegister: 1, SetName: hosts.Name, SetID: hosts.ID},
		&expr.Verdict{Kind: expr.VerdictAccept})
	drop := append(slices.Clone(vxlan), &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
	for i, exprs := range [][]expr.Any{allow, drop} {
		c.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: exprs,
			UserData: userdata.AppendString(nil, userdata.TypeComment, nat6InputTags[i])})
	}
	return nil
}

// delNAT6 queues the deletion of the NAT reconciler's objects that exist (chains first:
// their rules refer to the sets).
func delNAT6(c *nftables.Conn, t *nftables.Table, have nat6Spec) {
	for _, name := range have.chains {
		ch := &nftables.Chain{Name: name, Table: t}
		c.FlushChain(ch)
		c.DelChain(ch)
	}
	for _, name := range have.sets {
		c.DelSet(&nftables.Set{Name: name, Table: t})
	}
}

// readNAT6 reads the NAT reconciler's objects of `ip6 brindle` back as a spec; objects whose
// shape is not ours read as different from any spec (no pools), so they are replaced.
// foreign reports other objects in the table (the IPv6 policy's).
func readNAT6(c *nftables.Conn) (spec nat6Spec, exists, foreign bool, err error) {
	spec, exists, err = readNAT6Owned(c, &foreign)
	return spec, exists, foreign, err
}

func readNAT6Owned(c *nftables.Conn, foreign *bool) (nat6Spec, bool, error) {
	t, err := c.ListTableOfFamily(nftTable, nftables.TableFamilyIPv6)
	if errors.Is(err, unix.ENOENT) {
		return nat6Spec{}, false, nil
	}
	if err != nil {
		return nat6Spec{}, false, err
	}
	all, err := c.GetSets(t)
	if err != nil {
		return nat6Spec{}, true, err
	}
	var sets []*nftables.Set
	var owned nat6Spec // only the names of the objects that exist, for delNAT6
	for _, s := range all {
		if !natOwned(s.Name) {
			*foreign = true
			continue
		}
		sets = append(sets, s)
		owned.sets = append(owned.sets, s.Name)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv6)
	if err != nil {
		return owned, true, err
	}
	for _, ch := range chains {
		if ch.Table.Name != nftTable {
			continue
		}
		if !natOwned(ch.Name) {
			*foreign = true
			continue
		}
		owned.chains = append(owned.chains, ch.Name)
	}
	spec := nat6Spec{sets: owned.sets, chains: owned.chains}
	seen := map[string]bool{}
	for _, s := range sets {
		if s.KeyType.Name != nftables.TypeIP6Addr.Name || s.Interval != (s.Name != setAllHosts) {
			return owned, true, nil
		}
		es, err := c.GetSetElements(s)
		if err != nil {
			return owned, true, err
		}
		seen[s.Name] = true
		if s.Name == setAllHosts {
			for _, e := range es {
				if a, ok := netip.AddrFromSlice(e.Key); ok {
					spec.hosts = append(spec.hosts, a)
				}
			}
			slices.SortFunc(spec.hosts, netip.Addr.Compare)
			continue
		}
		rs, ok := rangesFromElems(es)
		if !ok {
			return owned, true, nil
		}
		switch s.Name {
		case setAllPools:
			spec.all = rs
		case setMasqPools:
			spec.masq = rs
		}
	}
	tags := map[string][]string{}
	for _, ch := range chains {
		if ch.Table.Name != nftTable || !natOwned(ch.Name) {
			continue
		}
		hook := map[string]*nftables.ChainHook{chainPostNAT: nftables.ChainHookPostrouting, chainInput: nftables.ChainHookInput}[ch.Name]
		if hook == nil || ch.Hooknum == nil || *ch.Hooknum != *hook {
			return owned, true, nil
		}
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return owned, true, err
		}
		tags[ch.Name] = []string{}
		for _, r := range rules {
			tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			tags[ch.Name] = append(tags[ch.Name], tag)
		}
	}
	spec.vxlan = seen[setAllHosts]
	ok := seen[setAllPools] && seen[setMasqPools] && len(sets) == len(seen) &&
		slices.Equal(tags[chainPostNAT], []string{nat6RuleTag})
	if spec.vxlan {
		ok = ok && slices.Equal(tags[chainInput], nat6InputTags) && len(tags) == 2
	} else {
		ok = ok && len(tags) == 1
	}
	if !ok {
		return owned, true, nil
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
