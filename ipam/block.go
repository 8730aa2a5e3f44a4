package ipam

import (
	"maps"
	"net/netip"
	"strconv"
)

// Pure operations on one block value. They mutate the in-memory copy only; callers write it
// back with a compare-and-swap.

// blockSize is the number of addresses in a block CIDR.
func blockSize(p netip.Prefix) int {
	return 1 << (p.Addr().BitLen() - p.Bits())
}

// OrdinalAddr is the address at ordinal i of block p (block base + i), the index Calico's
// allocations array uses.
func OrdinalAddr(p netip.Prefix, i int) netip.Addr {
	b := p.Masked().Addr().As16()
	carry := uint64(i)
	for j := 15; j >= 0 && carry > 0; j-- {
		s := uint64(b[j]) + carry&0xff
		b[j] = byte(s)
		carry = carry>>8 + s>>8
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

// addrOrdinal is the ordinal of ip inside block p; ok false when outside.
func addrOrdinal(p netip.Prefix, ip netip.Addr) (int, bool) {
	if !p.Contains(ip) {
		return 0, false
	}
	x, y := p.Masked().Addr().As16(), ip.As16()
	n := 0
	for j := 12; j < 16; j++ { // blocks hold at most 2^12 addresses, so the low 32 bits suffice
		n = n<<8 | int(y[j]-x[j])
	}
	return n, true
}

// inUse counts allocated ordinals.
func (b *Block) inUse() int {
	n := 0
	for _, a := range b.Allocations {
		if a != nil {
			n++
		}
	}
	return n
}

func (b *Block) empty() bool { return b.inUse() == 0 }

// attrIndex returns the index of an identical attribute entry, appending one if none exists
// (Calico reuses identical entries so a multi-address request shares one).
func (b *Block) attrIndex(handleID string, attrs map[string]string) int {
	for i, a := range b.Attributes {
		if a.HandleID != nil && *a.HandleID == handleID && maps.Equal(a.Secondary, attrs) {
			return i
		}
	}
	h := handleID
	var sec map[string]string
	if len(attrs) > 0 {
		sec = maps.Clone(attrs)
	}
	b.Attributes = append(b.Attributes, AllocationAttrs{HandleID: &h, Secondary: sec})
	return len(b.Attributes) - 1
}

// autoAssign takes up to num free ordinals from the front of unallocated, skipping reserved
// addresses (which stay in place so they are skipped again next time).
func (b *Block) autoAssign(num int, handleID string, attrs map[string]string, reserved func(netip.Addr) bool) []netip.Addr {
	var got []netip.Addr
	var keep []int
	idx := -1
	for i, ord := range b.Unallocated {
		if len(got) == num {
			keep = append(keep, b.Unallocated[i:]...)
			break
		}
		ip := OrdinalAddr(b.prefix, ord)
		if reserved != nil && reserved(ip) {
			keep = append(keep, ord)
			continue
		}
		if idx < 0 {
			idx = b.attrIndex(handleID, attrs)
		}
		b.claim(ord, idx)
		got = append(got, ip)
	}
	b.Unallocated = append([]int{}, keep...)
	return got
}

// claim marks ordinal ord allocated to attribute idx, recording the sequence number.
func (b *Block) claim(ord, idx int) {
	v := idx
	b.Allocations[ord] = &v
	b.SeqForAlloc[strconv.Itoa(ord)] = b.SequenceNum
}

// assignOrdinal allocates one specific ordinal; false if it is already taken.
func (b *Block) assignOrdinal(ord int, handleID string, attrs map[string]string) bool {
	if b.Allocations[ord] != nil {
		return false
	}
	pos := -1
	for i, o := range b.Unallocated {
		if o == ord {
			pos = i
			break
		}
	}
	if pos >= 0 {
		b.Unallocated = append(b.Unallocated[:pos:pos], b.Unallocated[pos+1:]...)
	}
	b.claim(ord, b.attrIndex(handleID, attrs))
	return true
}

// handleOf is the handle ID of an allocated ordinal ("" when free or without handle).
func (b *Block) handleOf(ord int) string {
	a := b.Allocations[ord]
	if a == nil || *a < 0 || *a >= len(b.Attributes) || b.Attributes[*a].HandleID == nil {
		return ""
	}
	return *b.Attributes[*a].HandleID
}

// attrsOf is the secondary attributes of an allocated ordinal.
func (b *Block) attrsOf(ord int) map[string]string {
	a := b.Allocations[ord]
	if a == nil || *a < 0 || *a >= len(b.Attributes) {
		return nil
	}
	return b.Attributes[*a].Secondary
}

// release frees ordinals, appending them to the end of unallocated so freed addresses are
// reused last (Calico's round-robin order). It returns how many each handle lost.
func (b *Block) release(ords []int) map[string]int {
	lost := map[string]int{}
	for _, ord := range ords {
		if b.Allocations[ord] == nil {
			continue
		}
		if h := b.handleOf(ord); h != "" {
			lost[h]++
		}
		b.Allocations[ord] = nil
		delete(b.SeqForAlloc, strconv.Itoa(ord))
		b.Unallocated = append(b.Unallocated, ord)
	}
	b.compactAttrs()
	return lost
}

// ordinalsOfHandle lists the ordinals held by handleID.
func (b *Block) ordinalsOfHandle(handleID string) []int {
	var out []int
	for ord := range b.Allocations {
		if b.Allocations[ord] != nil && b.handleOf(ord) == handleID {
			out = append(out, ord)
		}
	}
	return out
}

// compactAttrs drops attribute entries no allocation points at and renumbers the rest.
func (b *Block) compactAttrs() {
	remap := make([]int, len(b.Attributes))
	for i := range remap {
		remap[i] = -1
	}
	for _, a := range b.Allocations {
		if a != nil && *a >= 0 && *a < len(remap) {
			remap[*a] = 0
		}
	}
	kept := b.Attributes[:0:0]
	for i, used := range remap {
		if used == 0 {
			remap[i] = len(kept)
			kept = append(kept, b.Attributes[i])
		}
	}
	for ord, a := range b.Allocations {
		if a != nil && *a >= 0 && *a < len(remap) {
			v := remap[*a]
			b.Allocations[ord] = &v
		}
	}
	b.Attributes = kept
}

// countsByHandle is how many addresses each handle holds in this block.
func (b *Block) countsByHandle() map[string]int {
	out := map[string]int{}
	for ord := range b.Allocations {
		if b.Allocations[ord] != nil {
			out[b.handleOf(ord)]++
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
