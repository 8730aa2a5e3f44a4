package dataplane

import (
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// ruleExprs builds the expressions of one tagged rule. Pure: the same tag and sets give the
// same bytes, so the layout is reviewed here in one place.
//
//	masq:        ip saddr @masq-pools ip daddr != @all-pools masquerade
//	ipip-allow:  ip protocol 4 ip saddr @all-hosts accept
//	ipip-drop:   ip protocol 4 counter drop
//	vxlan-allow: udp dport 4789 ip saddr @all-hosts accept
//	vxlan-drop:  udp dport 4789 counter drop
//
// The input chain sees only packets addressed to this host, so the drops cover exactly
// "tunnelled traffic to a local address from something that is not a node".
func ruleExprs(tag string, sets map[string]*nftables.Set) []expr.Any {
	lookup := func(name string, invert bool) expr.Any {
		s := sets[name]
		return &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID, Invert: invert}
	}
	saddr := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}
	daddr := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
	ipip := []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 9, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{ipProtoIPIP}},
	}
	vxlan := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{ipProtoUDP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(vxlanUDPPort)},
	}
	accept := &expr.Verdict{Kind: expr.VerdictAccept}
	drop := &expr.Verdict{Kind: expr.VerdictDrop}
	switch tag {
	case ruleMasq:
		return []expr.Any{saddr, lookup(setMasqPools, false), daddr, lookup(setAllPools, true), &expr.Masq{}}
	case ruleIPIPAllow:
		return append(ipip, saddr, lookup(setAllHosts, false), accept)
	case ruleIPIPDrop:
		return append(ipip, &expr.Counter{}, drop)
	case ruleVXLANOK:
		return append(vxlan, saddr, lookup(setAllHosts, false), accept)
	case ruleVXLANDrop:
		return append(vxlan, &expr.Counter{}, drop)
	}
	return nil
}
