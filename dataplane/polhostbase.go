package dataplane

import (
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// hostBaseRules renders one base chain: the accept mark (raw chains clear it; the others
// accept what raw or preDNAT policy allowed, as felix's filter chains do), the failsafe
// ports, then the dispatch.
func hostBaseRules(name string, in, out []PolFailsafe, tun hostTunnels, all map[string]bool, sets setRef) []polRuleOut {
	var rs []polRuleOut
	raw := name == chainHostRawPre || name == chainHostRawOut
	if raw {
		rs = append(rs, polRule("clear-accept-mark", markSet(markAccept|markPass, false)))
	} else {
		rs = append(rs, polRule("accepted-before", markHas(markAccept, true), one(accept)))
	}
	if name == chainHostPreDNAT {
		// preDNAT policy is for new connections only: felix's mangle PREROUTING accepts
		// established and related packets before its dispatch (felix/rules/static.go), or a
		// deny-all preDNAT policy would cut the replies to the host's own connections.
		rs = append(rs, polRule("ct-established", ctState(expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED), one(accept)))
	}
	inbound := name == chainHostRawPre || name == chainHostPreDNAT || name == chainHostInput
	switch {
	case name == chainHostForward:
		// no failsafe for forwarded traffic (felix has none either)
	case inbound:
		rs = append(rs, failsafeRules(in, false, true)...)
		if raw {
			// replies to the host's own failsafe connections, so that a doNotTrack policy
			// cannot untrack half of them (felix/rules/static.go failsafeInChain, raw)
			rs = append(rs, failsafeRules(out, true, true)...)
		}
	default:
		rs = append(rs, failsafeRules(out, false, false)...)
		if raw {
			rs = append(rs, failsafeRules(in, true, false)...)
		}
	}
	if name == chainHostInput || name == chainHostOutput {
		// Tunnel packets between the hosts (felix/rules/static.go filterInputChain and
		// filterOutputChain allow them before host endpoint policy, or a host policy would
		// cut pod traffic between nodes).
		if tun.ipip {
			rs = append(rs, polRule("ipip", one(metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{ipProtoIPIP})), one(accept)))
		}
		if tun.vxlan {
			rs = append(rs, polRule("vxlan", one(metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{ipProtoUDP}),
				portLoad(false, 1), cmpEq(binaryutil.BigEndian.PutUint16(tun.port))), one(accept)))
		}
	}
	dispatch := func(key string, in bool) {
		s := sets(hostMap(key))
		k := expr.MetaKeyOIFNAME
		if in {
			k = expr.MetaKeyIIFNAME
		}
		rs = append(rs, polRule("dispatch:"+key, one(metaLoad(k), &expr.Lookup{SourceRegister: 1, IsDestRegSet: true, DestRegister: 0, SetName: s.Name, SetID: s.ID})))
		if all[key] {
			rs = append(rs,
				polRule("skip-lo", one(metaLoad(k), cmpEq(ifnameKey("lo"))), one(ret)),
				polRule("skip-workloads", ifacePrefix(in, wlIfacePrefix), one(ret)),
				polRule("all-interfaces", one(&expr.Verdict{Kind: expr.VerdictGoto, Chain: hostChain(key, hostAll)})))
		}
	}
	switch name {
	case chainHostRawPre:
		dispatch("ri", true)
	case chainHostRawOut:
		dispatch("ro", false)
	case chainHostPreDNAT:
		dispatch("pd", true)
	case chainHostInput:
		dispatch("i", true)
	case chainHostOutput:
		dispatch("o", false)
	case chainHostForward:
		dispatch("fi", true)
		rs = append(rs, polRule("clear-accept-mark", markSet(markAccept, false)))
		dispatch("fo", false)
	}
	return rs
}

// hostTunnels says which encapsulations the host hooks let through.
type hostTunnels struct {
	ipip, vxlan bool
	port        uint16
}

// failsafeRules accept a protocol and port: the destination port (or, with sport, the source
// port: the reply direction), from (inbound) or to the failsafe's net.
func failsafeRules(fs []PolFailsafe, sport, inbound bool) []polRuleOut {
	var rs []polRuleOut
	for _, f := range fs {
		e := []expr.Any{metaLoad(expr.MetaKeyL4PROTO), cmpEq([]byte{f.Proto}), portLoad(sport, 1), cmpEq(binaryutil.BigEndian.PutUint16(f.Port))}
		var nets []expr.Any
		if f.Net.IsValid() {
			// remote side: the source of an inbound packet, the destination of an outbound one;
			// for a reply (sport) the other way round
			nets = prefixMatch(false, inbound != sport, f.Net, false)
		}
		tag := "failsafe"
		if sport {
			tag = "failsafe-reply"
		}
		rs = append(rs, polRule(tag, e, nets, one(accept)))
	}
	return rs
}
