package dataplane

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// The policy reconciler's fixed objects in the `ip brindle` table. Per-policy, per-profile,
// per-endpoint and group chains and the selector sets are added next to them; the model
// names policy chains and sets (prefixed "s."), the prefixes are listed in docs/dataplane.md.
const (
	chainPolPre     = "pol-prerouting" // base: hook prerouting (egress policy)
	chainPolForward = "pol-forward"    // base: hook forward (ingress policy)
	chainPolInput   = "pol-input"      // base: hook input (workload to host)
	chainFromWL     = "from-wl"        // every packet from a workload interface
	chainToWL       = "to-wl"          // every forwarded packet to a workload interface
	chainWLToHost   = "wl-to-host"     // a workload's packets to this host
	mapFromWL       = "fw-map"         // iifname -> goto fw-<iface>
	mapToWL         = "tw-map"         // oifname -> goto tw-<iface>
	wlIfacePrefix   = "cali"           // Calico's interfacePrefix default
)

// fwChain is an endpoint's own chain from the workload: anti-spoofing, then its egress
// group.
func fwChain(iface string) string { return "fw-" + iface }

// twChain is an endpoint's own chain to the workload: a goto to its ingress group. The
// map could go to the group directly, but then a label change would replace a verdict-map
// element, and a transaction that deletes anything costs the kernel's slow path (see
// polsupersede.go); a chain's goto is superseded by adding rules only.
func twChain(iface string) string { return "tw-" + iface }

// basePolChains are the policy reconciler's hooked chains. Priority filter (0), the same as
// iptables-nft's and Docker's filter chains: a packet must be accepted by each table's base
// chain in turn, so the order between tables does not change a verdict.
//
// A workload's egress policy runs in prerouting (after conntrack and DNAT, as in forward)
// rather than in both forward and input as in felix: every packet from a workload passes
// prerouting exactly once, so the endpoint chains are reachable from one base chain only.
// That matters because the kernel re-walks every jump path of the table on each commit
// that adds a verdict rule (see docs/dataplane.md): one path fewer is a third less work.
var basePolChains = map[string]*nftables.ChainHook{chainPolPre: nftables.ChainHookPrerouting,
	chainPolForward: nftables.ChainHookForward, chainPolInput: nftables.ChainHookInput}

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
// felix/rules/dispatch.go). The maps jump with goto: a group chain that allows accepts,
// and the packet goes on (to the forward hook, where a local destination's ingress policy
// runs, or to input).
func dispatchRules(name string, v6 bool, toHost string, sets setRef) []polRuleOut {
	vmap := func(in bool, m string) []expr.Any {
		key := expr.MetaKeyOIFNAME
		if in {
			key = expr.MetaKeyIIFNAME
		}
		s := sets(m)
		return []expr.Any{metaLoad(key), &expr.Lookup{SourceRegister: 1, IsDestRegSet: true, DestRegister: 0, SetName: s.Name, SetID: s.ID}}
	}
	switch name {
	case chainPolPre:
		return []polRuleOut{polRule("from-workload", ifacePrefix(true, wlIfacePrefix), one(jump(chainFromWL)))}
	case chainPolForward:
		return []polRuleOut{polRule("to-workload", ifacePrefix(false, wlIfacePrefix), one(jump(chainToWL)))}
	case chainPolInput:
		return []polRuleOut{polRule("workload-to-host", ifacePrefix(true, wlIfacePrefix), one(jump(chainWLToHost)))}
	case chainFromWL:
		out := []polRuleOut{polRule("dispatch", vmap(true, mapFromWL)), polRule("unknown-interface", counted(drop))}
		if v6 {
			out = append(icmp6Router(), out...) // before anti-spoofing: NDP uses fe80:: and ::
		}
		return out
	case chainToWL:
		return []polRuleOut{polRule("dispatch", vmap(false, mapToWL)), polRule("unknown-interface", counted(drop))}
	case chainWLToHost:
		// The workload's egress policy allowed the packet in prerouting; now
		// defaultEndpointToHostAction (felix/rules/static.go, cali-wl-to-host), except for
		// replies on connections the host opened (host-to-workload is not policed).
		out := []polRuleOut{polRule("ct-established", ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), one(accept))}
		if v6 {
			out = append(icmp6Router(), out...)
		}
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

// epOpts are the FelixConfiguration values that shape every group chain.
type epOpts struct {
	DropInvalid, AllowIPIP, AllowVXLAN bool
	VXLANPort                          uint16
}

// fwRules renders fw-<iface>, the one chain of each endpoint: anti-spoofing (Felix does it
// as a reverse-path check in the raw table, felix/rules/static.go), then on to the egress
// group chain that endpoints with the same egress policies share.
func twRules(group string) []polRuleOut {
	return []polRuleOut{polRule("group:"+group, one(&expr.Verdict{Kind: expr.VerdictGoto, Chain: group}))}
}

func fwRules(v6 bool, sources []netip.Prefix, group string, sets setRef) []polRuleOut {
	var spoof polRuleOut
	switch len(sources) {
	case 0:
		spoof = polRule("spoofed-source", counted(drop))
	case 1:
		spoof = polRule("spoofed-source", prefixMatch(v6, true, sources[0], true), counted(drop))
	default:
		spoof = polRule("spoofed-source", one(addrLoad(v6, true, 1), lookup(sets(netsSetName(sources)), 1, true)), counted(drop))
	}
	return []polRuleOut{spoof, polRule("group:"+group, one(&expr.Verdict{Kind: expr.VerdictGoto, Chain: group}))}
}

// groupRules renders a group chain: what applies in one direction to every endpoint with
// the same tiers, policies and profiles (felix shares chains the same way, "policy
// groups"): conntrack, IPIP/VXLAN from workloads (egress), then per tier the policies in
// order, then the end-of-tier drop unless the tier passes by default; then the profiles;
// then drop (felix/rules/endpoints.go). Sharing keeps the table small: 500 endpoints that
// fall into 50 groups need 100 of these chains instead of 1,000.
//
// A policy's Allow is a plain accept: these chains are the last thing their base chain
// (prerouting for egress, forward for ingress) does, so accepting there is the same as
// felix's accept mark and return, with one rule less per policy. Pass sets the pass mark
// and returns; the following policies of the tier are jumped to only while it is clear.
func groupRules(d PolDirection, from bool, o epOpts) []polRuleOut {
	var out []polRuleOut
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
	for _, t := range d.Tiers {
		out = append(out, polRule("tier:"+t.Name, markSet(markPass, false)))
		for _, p := range t.Policies {
			out = append(out, polRule("policy:"+p, markHas(markPass, false), one(jump(p))))
		}
		if !t.PassByDefault {
			out = append(out, polRule("tier-drop:"+t.Name, markHas(markPass, false), counted(drop)))
		}
	}
	for _, p := range d.Profiles {
		out = append(out, polRule("profile:"+p, one(jump(p))))
	}
	return append(out, polRule("no-policy-allowed", counted(drop)))
}
