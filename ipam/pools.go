package ipam

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/api/selector"
	"github.com/brindle-net/brindle/store"
)

// pool is an IPPool as IPAM needs it, with Calico's defaults applied.
type pool struct {
	Name        string
	CIDR        netip.Prefix
	BlockBits   int
	Disabled    bool
	IPIPMode    string
	VXLANMode   string
	AllowedUses []string
	Manual      bool // assignmentMode Manual: only used when a request names the pool
	sel         *selector.Selector
}

func (p *pool) allows(use string) bool { return slices.Contains(p.AllowedUses, use) }

// selects reports whether the pool's nodeSelector matches the node's labels.
func (p *pool) selects(labels map[string]string) bool { return p.sel.Evaluate(labels) }

// blockFor is the block CIDR that holds ip in this pool.
func (p *pool) blockFor(ip netip.Addr) netip.Prefix {
	b, _ := ip.Prefix(p.BlockBits)
	return b
}

func toPool(ip *api.IPPool) (*pool, error) {
	cidr, err := netip.ParsePrefix(ip.Spec.CIDR)
	if err != nil {
		return nil, fmt.Errorf("IPPool %q: spec.cidr: %w", ip.Name, err)
	}
	cidr = cidr.Masked()
	p := &pool{Name: ip.Name, CIDR: cidr, BlockBits: ip.Spec.BlockSize, Disabled: ip.Spec.Disabled,
		IPIPMode: ip.Spec.IPIPMode, VXLANMode: ip.Spec.VXLANMode, AllowedUses: ip.Spec.AllowedUses,
		Manual: ip.Spec.AssignmentMode == "Manual"}
	if p.BlockBits == 0 {
		p.BlockBits = 26
		if cidr.Addr().Is6() {
			p.BlockBits = 122
		}
	}
	if p.BlockBits < cidr.Bits() || p.BlockBits > cidr.Addr().BitLen() {
		return nil, fmt.Errorf("IPPool %q: spec.blockSize %d does not fit cidr %s", ip.Name, p.BlockBits, cidr)
	}
	if len(p.AllowedUses) == 0 {
		p.AllowedUses = []string{UseWorkload, UseTunnel}
	}
	p.sel, err = selector.Parse(ip.Spec.NodeSelector)
	if err != nil {
		return nil, fmt.Errorf("IPPool %q: spec.nodeSelector: %w", ip.Name, err)
	}
	return p, nil
}

// allPools reads every IPPool.
func (a *Allocator) allPools(ctx context.Context) ([]*pool, error) {
	ips, _, err := store.ListAs[*api.IPPool](ctx, a.c, "")
	if err != nil {
		return nil, err
	}
	out := make([]*pool, 0, len(ips))
	for _, ip := range ips {
		p, err := toPool(ip)
		if err != nil {
			// Stored but unusable (e.g. written by hand with a bad blockSize): skipped like
			// a record that does not decode, rather than failing every allocation.
			rev, _ := strconv.ParseInt(ip.ResourceVersion, 10, 64)
			a.c.ReportBroken(store.ResourcePrefix+"ippools/"+ip.Name, rev, err)
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// poolFor is the pool containing ip, or nil.
func poolFor(pools []*pool, ip netip.Addr) *pool {
	for _, p := range pools {
		if p.CIDR.Contains(ip) {
			return p
		}
	}
	return nil
}

type poolQuery struct {
	v6        bool
	requested []string // CIDRs or names; selectors are ignored for these, as in Calico
	labels    map[string]string
	use       string
}

// choosePools returns the pools a request may draw from, in a stable order.
func choosePools(all []*pool, q poolQuery) ([]*pool, error) {
	var out []*pool
	if len(q.requested) > 0 {
		for _, r := range q.requested {
			var hit *pool
			for _, p := range all {
				if p.Name == r || p.CIDR.String() == r {
					hit = p
				}
			}
			if hit == nil {
				return nil, fmt.Errorf("requested pool %q does not exist", r)
			}
			if hit.CIDR.Addr().Is6() != q.v6 {
				return nil, fmt.Errorf("requested pool %q (%s) is not an IPv%s pool", r, hit.CIDR, family(q.v6))
			}
			if hit.Disabled {
				return nil, fmt.Errorf("requested pool %q (%s) is disabled", r, hit.CIDR)
			}
			if !hit.allows(q.use) {
				return nil, fmt.Errorf("requested pool %q (%s) does not allow use %s (allowedUses %s)", r, hit.CIDR, q.use, strings.Join(hit.AllowedUses, ","))
			}
			out = append(out, hit)
		}
		return out, nil
	}
	for _, p := range all {
		if p.CIDR.Addr().Is6() == q.v6 && !p.Disabled && !p.Manual && p.allows(q.use) && p.selects(q.labels) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(x, y *pool) int { return strings.Compare(x.CIDR.String(), y.CIDR.String()) })
	return out, nil
}

func family(v6 bool) string {
	if v6 {
		return "6"
	}
	return "4"
}

// blockWalk yields the pool's block CIDRs starting at a host-specific offset and wrapping
// around, like Calico's randomBlockGenerator: hosts spread over the pool instead of all
// racing for its first block. Huge IPv6 pools are walked over their first 2^40 blocks only.
func blockWalk(p *pool, host string, yield func(netip.Prefix) bool) {
	bits := p.BlockBits - p.CIDR.Bits()
	bits = min(bits, 40)
	n := uint64(1) << bits
	var seed uint64
	if p.BlockBits == p.CIDR.Addr().BitLen() {
		seed = uint64(time.Now().UnixNano()) // /32 blocks: Calico seeds with time
	} else {
		h := fnv.New32()
		h.Write([]byte(host))
		seed = uint64(h.Sum32())
	}
	start := rand.New(rand.NewPCG(seed, seed)).Uint64N(n)
	for i := uint64(0); i < n; i++ {
		idx := (start + i) % n
		if !yield(blockAt(p, idx)) {
			return
		}
	}
}

// blockAt is the idx-th block of the pool.
func blockAt(p *pool, idx uint64) netip.Prefix {
	b := p.CIDR.Addr().As16()
	shift := p.CIDR.Addr().BitLen() - p.BlockBits // host bits per block
	addShifted(&b, idx, shift)
	a := netip.AddrFrom16(b)
	if p.CIDR.Addr().Is4() {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, p.BlockBits)
}

// addShifted adds v<<shift to the 128-bit big-endian number in b.
func addShifted(b *[16]byte, v uint64, shift int) {
	byteOff, bitOff := shift/8, uint(shift%8)
	// v<<bitOff may need 72 bits; carry through a uint64 per byte.
	var carry uint64
	lo := v << bitOff
	hi := uint64(0)
	if bitOff > 0 {
		hi = v >> (64 - bitOff)
	}
	for j := 0; j < 16-byteOff; j++ {
		pos := 15 - byteOff - j
		var add uint64
		switch {
		case j < 8:
			add = (lo >> (8 * j)) & 0xff
		case j == 8:
			add = hi & 0xff
		}
		s := uint64(b[pos]) + add + carry
		b[pos] = byte(s)
		carry = s >> 8
	}
}
