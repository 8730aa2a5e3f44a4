package dataplane

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Expression helpers for the policy chains. Every helper loads into register 1 (the
// 16-byte register); the concatenations of named-port and source sets use the 4-byte
// registers from 8 (NFT_REG32_00) on, as nft itself does.

// markPass is the bit a policy's Pass sets for its group chain, cleared at the start of
// each tier (felix/rules/static.go uses a pass mark the same way). Bit 17 sits in Felix's
// default IptablesMarkMask (0xffff0000) and clear of Docker's and kube-proxy's low bits.
const markPass uint32 = 0x20000

const reg32First = 8 // NFT_REG32_00

var (
	accept = &expr.Verdict{Kind: expr.VerdictAccept}
	drop   = &expr.Verdict{Kind: expr.VerdictDrop}
	ret    = &expr.Verdict{Kind: expr.VerdictReturn}
)

func jump(chain string) expr.Any { return &expr.Verdict{Kind: expr.VerdictJump, Chain: chain} }

func cmpEq(data []byte) expr.Any { return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data} }

func cmpNeq(data []byte) expr.Any { return &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: data} }

func metaLoad(key expr.MetaKey) expr.Any { return &expr.Meta{Key: key, Register: 1} }

// addrLoad loads `ip saddr`/`ip daddr` (IPv4 header offsets 12 and 16, 4 bytes) or, with
// v6, `ip6 saddr`/`ip6 daddr` (IPv6 header offsets 8 and 24, 16 bytes).
func addrLoad(v6, src bool, reg uint32) expr.Any {
	if v6 {
		off := uint32(24)
		if src {
			off = 8
		}
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 16}
	}
	off := uint32(16)
	if src {
		off = 12
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4}
}

// portLoad loads the transport header's source or destination port (th sport/dport).
func portLoad(src bool, reg uint32) expr.Any {
	off := uint32(2)
	if src {
		off = 0
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}
}

func lookup(s *nftables.Set, reg uint32, invert bool) expr.Any {
	return &expr.Lookup{SourceRegister: reg, SetName: s.Name, SetID: s.ID, Invert: invert}
}

// ifacePrefix matches `iifname "cali*"` (or oifname): a compare of the name's first bytes.
func ifacePrefix(in bool, prefix string) []expr.Any {
	key := expr.MetaKeyOIFNAME
	if in {
		key = expr.MetaKeyIIFNAME
	}
	return []expr.Any{metaLoad(key), cmpEq([]byte(prefix))}
}

// ctState matches when the conntrack state has one of the bits.
func ctState(bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: binaryutil.NativeEndian.PutUint32(0)},
		cmpNeq(binaryutil.NativeEndian.PutUint32(0)),
	}
}

// markHas matches `meta mark & bit != 0` (or == 0 when !set).
func markHas(bit uint32, set bool) []expr.Any {
	c := cmpEq(binaryutil.NativeEndian.PutUint32(0))
	if set {
		c = cmpNeq(binaryutil.NativeEndian.PutUint32(0))
	}
	return []expr.Any{
		metaLoad(expr.MetaKeyMARK),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bit), Xor: binaryutil.NativeEndian.PutUint32(0)},
		c,
	}
}

// markSet sets bits (or clears them when !set) in the packet mark, leaving the rest.
func markSet(bits uint32, set bool) []expr.Any {
	mask, xor := ^bits, bits
	if !set {
		xor = 0
	}
	return []expr.Any{
		metaLoad(expr.MetaKeyMARK),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(mask), Xor: binaryutil.NativeEndian.PutUint32(xor)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// prefixMatch matches one network: `ip saddr 10.0.0.0/8` or `ip6 saddr fd00::/64` (or !=).
func prefixMatch(v6, src bool, p netip.Prefix, invert bool) []expr.Any {
	p = p.Masked()
	a := p.Addr().AsSlice()
	c := cmpEq(a)
	if invert {
		c = cmpNeq(a)
	}
	if p.Bits() == len(a)*8 {
		return []expr.Any{addrLoad(v6, src, 1), c}
	}
	mask := make([]byte, len(a))
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return []expr.Any{addrLoad(v6, src, 1),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(len(a)), Mask: mask, Xor: make([]byte, len(a))}, c}
}

// portMatch matches one port range: `th dport 80` or `th dport 1000-2000` (or !=).
func portMatch(src bool, r PortRange, invert bool) []expr.Any {
	op := expr.CmpOpEq
	if invert {
		op = expr.CmpOpNeq
	}
	from := binaryutil.BigEndian.PutUint16(r.First)
	if r.First == r.Last {
		return []expr.Any{portLoad(src, 1), &expr.Cmp{Op: op, Register: 1, Data: from}}
	}
	return []expr.Any{portLoad(src, 1),
		&expr.Range{Op: op, Register: 1, FromData: from, ToData: binaryutil.BigEndian.PutUint16(r.Last)}}
}

// namedPortLookup matches `ip daddr . meta l4proto . th dport @set` (saddr/sport for src);
// an IPv6 address fills four 4-byte registers, so protocol and port follow it there.
func namedPortLookup(v6, src bool, s *nftables.Set, invert bool) []expr.Any {
	next := uint32(reg32First + 1)
	if v6 {
		next = reg32First + 4
	}
	return []expr.Any{
		addrLoad(v6, src, reg32First),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: next},
		portLoad(src, next+1),
		lookup(s, reg32First, invert),
	}
}

// logStmt is `log prefix "<prefix>"`.
func logStmt(prefix string) expr.Any {
	return &expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(prefix)}
}

// namedPortKey is a named-port set element: address (4 or 16 bytes), protocol and port,
// each padded to 4 bytes.
func namedPortKey(np NamedPort) []byte {
	a := np.Addr.AsSlice()
	k := make([]byte, len(a)+8)
	copy(k, a)
	k[len(a)] = np.Proto
	k[len(a)+4], k[len(a)+5] = byte(np.Port>>8), byte(np.Port)
	return k
}

// ifnameKey is an interface name as a set key (16 bytes, zero-padded).
func ifnameKey(name string) []byte {
	k := make([]byte, 16)
	copy(k, name)
	return k
}

var (
	typeNamedPort  = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	typeNamedPort6 = nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeInetProto, nftables.TypeInetService)
)
