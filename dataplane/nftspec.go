package dataplane

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc"
)

// Names in the nftables table brindle owns. Everything inside the table is brindle's; the
// table is never touched by anyone else and nothing outside it is touched by brindle.
const (
	nftTable      = "brindle"
	setAllPools   = "all-pools"
	setMasqPools  = "masq-pools"
	setAllHosts   = "all-hosts"
	chainPostNAT  = "postrouting"
	chainInput    = "input"
	nftTagPrefix  = "brindle:"
	vxlanUDPPort  = calc.VXLANPort
	ipProtoIPIP   = 4
	ipProtoUDP    = 17
	maxAddrPlus1  = uint64(1) << 32
	ruleMasq      = "masq"
	ruleIPIPAllow = "ipip-allow"
	ruleIPIPDrop  = "ipip-drop"
	ruleVXLANOK   = "vxlan-allow"
	ruleVXLANDrop = "vxlan-drop"
)

// ipRange is [start, end) over IPv4 as integers; end may be 1<<32.
type ipRange struct{ start, end uint64 }

// nftSpec is the table's intended content, built by a pure function so that it can be
// compared with what the kernel holds.
type nftSpec struct {
	allPools  []ipRange
	masqPools []ipRange
	hosts     []netip.Addr
	input     []string // rule tags of the input chain, in order
	post      []string // rule tags of the postrouting chain
}

func buildNFTSpec(d *calc.Desired) nftSpec {
	s := nftSpec{
		allPools:  mergeRanges(d.NAT.AllPools),
		masqPools: mergeRanges(d.NAT.MasqPools),
		hosts:     d.TunnelSources, // calc's outputs are never modified
		post:      []string{ruleMasq},
	}
	if d.AcceptIPIP {
		s.input = append(s.input, ruleIPIPAllow, ruleIPIPDrop)
	}
	if d.AcceptVXLAN {
		s.input = append(s.input, ruleVXLANOK, ruleVXLANDrop)
	}
	return s
}

func (s nftSpec) equalButHosts(o nftSpec) bool {
	return slices.Equal(s.allPools, o.allPools) && slices.Equal(s.masqPools, o.masqPools) &&
		slices.Equal(s.input, o.input) && slices.Equal(s.post, o.post)
}

func addrU64(a netip.Addr) uint64 {
	b := a.As4()
	return uint64(binary.BigEndian.Uint32(b[:]))
}

func u64Key(v uint64) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(v))
}

// mergeRanges turns prefixes into sorted, disjoint ranges: an interval set rejects
// overlapping elements, and pools may nest (a /16 inside a /8 from another pool).
func mergeRanges(ps []netip.Prefix) []ipRange { return joinRanges(prefixRanges(ps), true) }

// prefixRanges turns the IPv4 prefixes of ps into [start, end) ranges, one per prefix.
func prefixRanges(ps []netip.Prefix) []ipRange {
	var rs []ipRange
	for _, p := range ps {
		if !p.Addr().Is4() {
			continue
		}
		p = p.Masked()
		start := addrU64(p.Addr())
		rs = append(rs, ipRange{start, start + uint64(1)<<(32-p.Bits())})
	}
	return rs
}

// joinRanges sorts rs and joins the ranges that overlap and, with adjacent, also those that
// touch (end == next start).
func joinRanges(rs []ipRange, adjacent bool) []ipRange {
	slices.SortFunc(rs, func(a, b ipRange) int { return cmp.Compare(a.start, b.start) })
	var out []ipRange
	for _, r := range rs {
		if n := len(out); n > 0 && (r.start < out[n-1].end || adjacent && r.start == out[n-1].end) {
			out[n-1].end = max(out[n-1].end, r.end)
			continue
		}
		out = append(out, r)
	}
	return out
}
