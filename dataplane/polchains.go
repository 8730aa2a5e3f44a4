package dataplane

import (
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// The policy reconciler's fixed objects in the `ip brindle` table. Per-policy, per-profile
// and per-endpoint chains and the selector sets are added next to them; their names come
// from the model (node/policy.go) with the prefixes listed in docs/dataplane.md.
const (
	chainPolForward = "pol-forward" // base: hook forward
	chainPolInput   = "pol-input"   // base: hook input
	chainFromWL     = "from-wl"     // every packet from a workload interface
	chainToWL       = "to-wl"       // every forwarded packet to a workload interface
	chainWLToHost   = "wl-to-host"  // a workload's packets to this host
	mapFromWL       = "fw-map"      // iifname -> goto fw-<iface>
	mapToWL         = "tw-map"      // oifname -> goto tw-<iface>
	setWLSources    = "wl-src"      // iifname . ip saddr of every local workload
	wlIfacePrefix   = "cali"        // Calico's interfacePrefix default
)

// Endpoint chain names: to-workload (ingress policy) and from-workload (egress policy).
func twChain(iface string) string { return "tw-" + iface }
func fwChain(iface string) string { return "fw-" + iface }

// basePolChains are the policy reconciler's hooked chains. Priority filter (0), the same as
// iptables-nft's and Docker's filter chains: a packet must be accepted by each table's base
// chain in turn, so the order between tables does not change a verdict.
var basePolChains = map[string]*nftables.ChainHook{chainPolForward: nftables.ChainHookForward, chainPolInput: nftables.ChainHookInput}

// dispatchRules renders the fixed chains. Felix's equivalents are cali-FORWARD,
// cali-from-wl-dispatch, cali-to-wl-dispatch and cali-wl-to-host (felix/rules/static.go,
// felix/rules/dispatch.go).
func dispatchRules(name string, toHost string, sets setRef) []polRuleOut {
	r := func(tag string, e ...[]expr.Any) polRuleOut {
		var all []expr.Any
		for _, x := range e {
			all = append(all, x...)
		}
		return polRuleOut{tag: tag, exprs: all}
	}
	one := func(e ...expr.Any) []expr.Any { return e }
	counted := func(v expr.Any) []expr.Any { return []expr.Any{&expr.Counter{}, v} }
	conntrack := []polRuleOut{
		r("ct-established", ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), one(accept)),
		r("ct-invalid", ctState(expr.CtStateBitINVALID), counted(drop)),
	}
	vmap := func(in bool, m string) []expr.Any {
		key := expr.MetaKeyOIFNAME
		if in {
			key = expr.MetaKeyIIFNAME
		}
		s := sets(m)
		return []expr.Any{metaLoad(key), &expr.Lookup{SourceRegister: 1, IsDestRegSet: true, DestRegister: 0, SetName: s.Name, SetID: s.ID}}
	}
	switch name {
	case chainPolForward:
		return []polRuleOut{
			r("from-workload", ifacePrefix(true, wlIfacePrefix), one(jump(chainFromWL))),
			r("to-workload", ifacePrefix(false, wlIfacePrefix), one(jump(chainToWL))),
		}
	case chainPolInput:
		return []polRuleOut{r("workload-to-host", ifacePrefix(true, wlIfacePrefix), one(jump(chainWLToHost)))}
	case chainFromWL:
		// Anti-spoofing first: Felix's reverse-path check runs in the raw table, before
		// conntrack (felix/rules/static.go, cali-rpf-skip).
		spoof := []expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg32First}, addrLoad(true, reg32First+4),
			lookup(sets(setWLSources), reg32First, true)}
		out := []polRuleOut{r("spoofed-source", spoof, counted(drop))}
		out = append(out, conntrack...)
		return append(out,
			r("ipip-from-workload", one(metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{ipProtoIPIP})), counted(drop)),
			r("vxlan-from-workload", one(metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{ipProtoUDP}), portLoad(false, 1),
				cmpEq(binaryutil.BigEndian.PutUint16(vxlanUDPPort))), counted(drop)),
			r("dispatch", vmap(true, mapFromWL)),
			r("unknown-interface", counted(drop)))
	case chainToWL:
		return append(conntrack, r("dispatch", vmap(false, mapToWL)), r("unknown-interface", counted(drop)))
	case chainWLToHost:
		// The workload's egress policy first (it returns only when it allows), then
		// defaultEndpointToHostAction (felix/rules/static.go, cali-wl-to-host).
		out := []polRuleOut{r("egress-policy", one(jump(chainFromWL)))}
		switch toHost {
		case "Accept":
			out = append(out, r("to-host-accept", counted(accept)))
		case "Return":
		default:
			out = append(out, r("to-host-drop", counted(drop)))
		}
		return out
	}
	return nil
}

// endpointRules renders tw-<iface> or fw-<iface>: per tier the policies in order, each a
// jump whose Allow comes back with the accept mark and whose Pass sets the pass mark (the
// rest of the tier is skipped), then the end-of-tier drop unless the tier passes by
// default; then the profiles; then drop (felix/rules/endpoints.go).
func endpointRules(d PolDirection) []polRuleOut {
	r := func(tag string, e ...[]expr.Any) polRuleOut {
		var all []expr.Any
		for _, x := range e {
			all = append(all, x...)
		}
		return polRuleOut{tag: tag, exprs: all}
	}
	one := func(e ...expr.Any) []expr.Any { return e }
	counted := func(v expr.Any) []expr.Any { return []expr.Any{&expr.Counter{}, v} }
	out := []polRuleOut{r("clear-marks", markSet(markAccept|markPass, false))}
	for i, t := range d.Tiers {
		if i > 0 {
			out = append(out, r("tier:"+t.Name, markSet(markPass, false)))
		}
		for _, p := range t.Policies {
			out = append(out, r("policy:"+p, markHas(markPass, false), one(jump(p))),
				r("accepted", markHas(markAccept, true), one(ret)))
		}
		if !t.PassByDefault {
			out = append(out, r("tier-drop:"+t.Name, markHas(markPass, false), counted(drop)))
		}
	}
	for _, p := range d.Profiles {
		out = append(out, r("profile:"+p, one(jump(p))), r("accepted", markHas(markAccept, true), one(ret)))
	}
	return append(out, r("no-policy-allowed", counted(drop)))
}
