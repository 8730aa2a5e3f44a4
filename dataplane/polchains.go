package dataplane

import (
	"net/netip"

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
	wlIfacePrefix   = "cali"        // Calico's interfacePrefix default
)

// Endpoint chain names: to-workload (ingress policy) and from-workload (egress policy).
func twChain(iface string) string { return "tw-" + iface }
func fwChain(iface string) string { return "fw-" + iface }

// basePolChains are the policy reconciler's hooked chains. Priority filter (0), the same as
// iptables-nft's and Docker's filter chains: a packet must be accepted by each table's base
// chain in turn, so the order between tables does not change a verdict.
var basePolChains = map[string]*nftables.ChainHook{chainPolForward: nftables.ChainHookForward, chainPolInput: nftables.ChainHookInput}

// polChainHelpers build tagged rules from expression pieces.
func polRule(tag string, e ...[]expr.Any) polRuleOut {
	var all []expr.Any
	for _, x := range e {
		all = append(all, x...)
	}
	return polRuleOut{tag: tag, exprs: all}
}

func one(e ...expr.Any) []expr.Any { return e }

func counted(v expr.Any) []expr.Any { return []expr.Any{&expr.Counter{}, v} }

// dispatchRules renders the fixed chains. Felix's equivalents are cali-FORWARD,
// cali-from-wl-dispatch, cali-to-wl-dispatch and cali-wl-to-host (felix/rules/static.go,
// felix/rules/dispatch.go). The maps jump with goto, so an endpoint chain that allows
// returns to the base chain: a packet between two local workloads then meets the
// destination's ingress policy too.
func dispatchRules(name string, toHost string, sets setRef) []polRuleOut {
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
			polRule("from-workload", ifacePrefix(true, wlIfacePrefix), one(jump(chainFromWL))),
			polRule("to-workload", ifacePrefix(false, wlIfacePrefix), one(jump(chainToWL))),
		}
	case chainPolInput:
		return []polRuleOut{polRule("workload-to-host", ifacePrefix(true, wlIfacePrefix), one(jump(chainWLToHost)))}
	case chainFromWL:
		return []polRuleOut{polRule("dispatch", vmap(true, mapFromWL)), polRule("unknown-interface", counted(drop))}
	case chainToWL:
		return []polRuleOut{polRule("dispatch", vmap(false, mapToWL)), polRule("unknown-interface", counted(drop))}
	case chainWLToHost:
		// The workload's egress policy first (it returns only when it allows), then
		// defaultEndpointToHostAction (felix/rules/static.go, cali-wl-to-host).
		out := []polRuleOut{polRule("egress-policy", one(jump(chainFromWL)))}
		switch toHost {
		case "Accept":
			out = append(out, polRule("to-host-accept", counted(accept)))
		case "Return":
		default:
			out = append(out, polRule("to-host-drop", counted(drop)))
		}
		return out
	}
	return nil
}

// epOpts are the FelixConfiguration values that shape every endpoint chain.
type epOpts struct {
	DropInvalid, AllowIPIP, AllowVXLAN bool
	VXLANPort                          uint16
}

// endpointRules renders tw-<iface> (ingress, from != true) or fw-<iface> (egress): for
// packets from the workload first anti-spoofing (Felix does it as a reverse-path check in
// the raw table, felix/rules/static.go), then conntrack, then IPIP/VXLAN from workloads;
// then per tier the policies in order, each a jump whose Allow comes back with the accept
// mark and whose Pass sets the pass mark (the rest of the tier is skipped), then the
// end-of-tier drop unless the tier passes by default; then the profiles; then drop
// (felix/rules/endpoints.go).
func endpointRules(d PolDirection, from bool, sources []netip.Prefix, o epOpts, sets setRef) []polRuleOut {
	var out []polRuleOut
	if from {
		switch len(sources) {
		case 0:
			out = append(out, polRule("spoofed-source", counted(drop)))
		case 1:
			out = append(out, polRule("spoofed-source", prefixMatch(true, sources[0], true), counted(drop)))
		default:
			out = append(out, polRule("spoofed-source", one(addrLoad(true, 1), lookup(sets(netsSetName(sources)), 1, true)), counted(drop)))
		}
	}
	out = append(out, polRule("ct-established", ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), one(accept)))
	if o.DropInvalid {
		out = append(out, polRule("ct-invalid", ctState(expr.CtStateBitINVALID), counted(drop)))
	}
	if from && !o.AllowIPIP {
		out = append(out, polRule("ipip-from-workload", one(metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{ipProtoIPIP})), counted(drop)))
	}
	if from && !o.AllowVXLAN {
		out = append(out, polRule("vxlan-from-workload", one(metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{ipProtoUDP}),
			portLoad(false, 1), cmpEq(binaryutil.BigEndian.PutUint16(o.VXLANPort))), counted(drop)))
	}
	out = append(out, polRule("clear-marks", markSet(markAccept|markPass, false)))
	for i, t := range d.Tiers {
		if i > 0 {
			out = append(out, polRule("tier:"+t.Name, markSet(markPass, false)))
		}
		for _, p := range t.Policies {
			out = append(out, polRule("policy:"+p, markHas(markPass, false), one(jump(p))),
				polRule("accepted", markHas(markAccept, true), one(ret)))
		}
		if !t.PassByDefault {
			out = append(out, polRule("tier-drop:"+t.Name, markHas(markPass, false), counted(drop)))
		}
	}
	for _, p := range d.Profiles {
		out = append(out, polRule("profile:"+p, markSet(markPass, false), one(jump(p))),
			polRule("accepted", markHas(markAccept, true), one(ret)))
	}
	return append(out, polRule("no-policy-allowed", counted(drop)))
}
