package dataplane

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// polRuleOut is one kernel rule of a policy reconciler chain: its tag (kept in the rule's
// comment; it names the Calico rule a counter belongs to) and its expressions.
type polRuleOut struct {
	tag   string
	exprs []expr.Any
}

// setRef resolves a set name to the set object of this transaction.
type setRef func(name string) *nftables.Set

// renderRule turns one Calico rule into kernel rules. Usually one; a rule listing both
// numeric and named ports becomes one kernel rule per alternative (the kernel ANDs a
// rule's matches, Calico ORs a rule's ports), as Felix does (felix/rules/policy.go).
func renderRule(r PolRule, v6 bool, sets setRef) []polRuleOut {
	var head []expr.Any
	if r.Proto != 0 {
		head = append(head, metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{r.Proto}))
	}
	if r.NotProto != 0 {
		head = append(head, metaLoad(expr.MetaKeyL4PROTO), cmpNeq([]byte{r.NotProto}))
	}
	head = append(head, sideAddrs(v6, true, r.Src, sets)...)
	head = append(head, sideAddrs(v6, false, r.Dst, sets)...)
	head = append(head, icmpMatch(r)...)
	variants := [][]expr.Any{head}
	for _, src := range []bool{true, false} {
		m := r.Dst
		if src {
			m = r.Src
		}
		alts := portAlternatives(v6, src, m, sets)
		var next [][]expr.Any
		for _, v := range variants {
			for _, a := range alts {
				next = append(next, append(slices.Clip(v), a...))
			}
		}
		variants = next
	}
	tag := "r" + strconv.Itoa(r.Index) + ":" + r.Action
	out := make([]polRuleOut, 0, len(variants))
	for _, v := range variants {
		v = append(v, &expr.Counter{})
		v = append(v, actionExprs(r.Action, r.LogPrefix)...)
		out = append(out, polRuleOut{tag: tag, exprs: v})
	}
	return out
}

func actionExprs(action, logPrefix string) []expr.Any {
	switch action {
	case ActionAllow:
		return []expr.Any{accept} // see groupRules
	case ActionPass:
		return append(markSet(markPass, true), ret)
	case ActionLog:
		return []expr.Any{logStmt(logPrefix)}
	default: // Deny, and anything unknown: never treat an unknown action as Allow
		return []expr.Any{drop}
	}
}

// sideAddrs renders a side's address conditions: nets (any of), not-nets (none of),
// sets (all of), not-sets (none of).
func sideAddrs(v6, src bool, m PolMatch, sets setRef) []expr.Any {
	var out []expr.Any
	switch len(m.Nets) {
	case 0:
	case 1:
		out = append(out, prefixMatch(v6, src, m.Nets[0], false)...)
	default:
		out = append(out, addrLoad(v6, src, 1), lookup(sets(netsSetName(m.Nets)), 1, false))
	}
	switch len(m.NotNets) {
	case 0:
	case 1:
		out = append(out, prefixMatch(v6, src, m.NotNets[0], true)...)
	default:
		out = append(out, addrLoad(v6, src, 1), lookup(sets(netsSetName(m.NotNets)), 1, true))
	}
	for _, s := range m.Sets {
		out = append(out, addrLoad(v6, src, 1), lookup(sets(s), 1, false))
	}
	for _, s := range m.NotSets {
		out = append(out, addrLoad(v6, src, 1), lookup(sets(s), 1, true))
	}
	for _, s := range m.NotPortSets {
		out = append(out, namedPortLookup(v6, src, sets(s), true)...)
	}
	switch len(m.NotPorts) {
	case 0:
	case 1:
		out = append(out, portMatch(src, m.NotPorts[0], true)...)
	default:
		out = append(out, portLoad(src, 1), lookup(sets(portsSetName(m.NotPorts)), 1, true))
	}
	return out
}

// portAlternatives returns the ORed port conditions of a side: numeric ports as one
// alternative, each named-port set as another; one empty alternative when there are none.
func portAlternatives(v6, src bool, m PolMatch, sets setRef) [][]expr.Any {
	var alts [][]expr.Any
	switch len(m.Ports) {
	case 0:
	case 1:
		alts = append(alts, portMatch(src, m.Ports[0], false))
	default:
		alts = append(alts, []expr.Any{portLoad(src, 1), lookup(sets(portsSetName(m.Ports)), 1, false)})
	}
	for _, s := range m.PortSets {
		alts = append(alts, namedPortLookup(v6, src, sets(s), false))
	}
	if len(alts) == 0 {
		alts = [][]expr.Any{nil}
	}
	return alts
}

// icmpMatch matches the ICMP type (and code); a negated type and code is one 2-byte
// compare so that "not (type 8 and code 0)" stays a single rule.
func icmpMatch(r PolRule) []expr.Any {
	load := func(n uint32) expr.Any {
		return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: n}
	}
	var out []expr.Any
	switch {
	case r.ICMPType >= 0 && r.ICMPCode >= 0:
		out = append(out, load(2), cmpEq([]byte{byte(r.ICMPType), byte(r.ICMPCode)}))
	case r.ICMPType >= 0:
		out = append(out, load(1), cmpEq([]byte{byte(r.ICMPType)}))
	}
	switch {
	case r.NotICMPType >= 0 && r.NotICMPCode >= 0:
		out = append(out, load(2), cmpNeq([]byte{byte(r.NotICMPType), byte(r.NotICMPCode)}))
	case r.NotICMPType >= 0:
		out = append(out, load(1), cmpNeq([]byte{byte(r.NotICMPType)}))
	}
	return out
}

// Inline lists of several nets or port ranges become named sets named by their content,
// so identical lists in many rules share one set and a rule edit does not rebuild them.
func netsSetName(ps []netip.Prefix) string {
	return "n-" + contentHash(ps)[:16]
}

func portsSetName(rs []PortRange) string {
	return "p-" + contentHash(rs)[:16]
}

func contentHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("hashing %T: %v", v, err)) // plain data always marshals
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// addInlineSets adds the sets that rules' inline lists and endpoints' source lists need.
func addInlineSets(spec *PolicySpec) {
	for _, ch := range spec.Chains {
		chainInlineSets(ch, spec.Sets)
	}
	for _, ep := range spec.Endpoints {
		endpointInlineSets(ep, spec.Sets)
	}
}

func chainInlineSets(ch PolChain, out map[string]PolSet) {
	add := func(m PolMatch) {
		for _, ns := range [][]netip.Prefix{m.Nets, m.NotNets} {
			if len(ns) > 1 {
				out[netsSetName(ns)] = PolSet{Kind: SetNets, Nets: ns}
			}
		}
		for _, rs := range [][]PortRange{m.Ports, m.NotPorts} {
			if len(rs) > 1 {
				out[portsSetName(rs)] = PolSet{Kind: SetPorts, Range: rs}
			}
		}
	}
	for _, r := range ch.Rules {
		add(r.Src)
		add(r.Dst)
	}
}

func endpointInlineSets(ep PolEndpoint, out map[string]PolSet) {
	if len(ep.Sources) > 1 {
		out[netsSetName(ep.Sources)] = PolSet{Kind: SetNets, Nets: ep.Sources}
	}
}
