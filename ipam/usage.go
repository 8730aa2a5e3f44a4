package ipam

import (
	"context"
	"math/big"
	"net/netip"
	"slices"
)

// PoolUsage is one IP pool's line in `ipam show`.
type PoolUsage struct {
	Name   string
	CIDR   string
	Total  *big.Int // IPv6 pools exceed 64 bits
	InUse  int
	Blocks int
}

// BlockUsage is one block's line in `ipam show --show-blocks`.
type BlockUsage struct {
	CIDR     string
	Pool     string // "" when no pool contains the block any more
	Affinity string // host name, "" when unaffined
	Total    int
	InUse    int
}

// Usage is what `ipam show` prints.
type Usage struct {
	Pools  []PoolUsage
	Blocks []BlockUsage
}

// Usage totals addresses in use per pool and per block.
func (a *Allocator) Usage(ctx context.Context) (Usage, error) {
	pools, err := a.allPools(ctx)
	if err != nil {
		return Usage{}, err
	}
	slices.SortFunc(pools, func(x, y *pool) int { return comparePrefix(x.CIDR, y.CIDR) })
	u := Usage{}
	pu, blocks, err := a.usageOf(ctx, pools)
	if err != nil {
		return Usage{}, err
	}
	u.Pools = pu
	u.Blocks = blocks
	return u, nil
}

func (a *Allocator) poolUsage(ctx context.Context, pools []*pool) ([]PoolUsage, error) {
	pu, _, err := a.usageOf(ctx, pools)
	return pu, err
}

func (a *Allocator) usageOf(ctx context.Context, pools []*pool) ([]PoolUsage, []BlockUsage, error) {
	out := make([]PoolUsage, len(pools))
	for i, p := range pools {
		out[i] = PoolUsage{Name: p.Name, CIDR: p.CIDR.String(),
			Total: new(big.Int).Lsh(big.NewInt(1), uint(p.CIDR.Addr().BitLen()-p.CIDR.Bits()))}
	}
	var blocks []BlockUsage
	for _, v6 := range []bool{false, true} {
		bs, err := a.listBlocks(ctx, v6)
		if err != nil {
			return nil, nil, err
		}
		for c, br := range bs {
			bu := BlockUsage{CIDR: c.String(), Affinity: br.B.AffinityHost(), Total: blockSize(c), InUse: br.B.inUse()}
			for i, p := range pools {
				if p.CIDR.Contains(c.Addr()) {
					out[i].InUse += bu.InUse
					out[i].Blocks++
					bu.Pool = p.Name
				}
			}
			blocks = append(blocks, bu)
		}
	}
	slices.SortFunc(blocks, func(x, y BlockUsage) int {
		return comparePrefix(netip.MustParsePrefix(x.CIDR), netip.MustParsePrefix(y.CIDR))
	})
	return out, blocks, nil
}

func comparePrefix(x, y netip.Prefix) int {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c
	}
	return x.Bits() - y.Bits()
}

// IPInfo says who holds one address (`ipam show --ip`).
type IPInfo struct {
	IP        netip.Addr
	Pool      string // pool name, "" when outside every pool
	Block     string // block CIDR, "" when no block holds the address
	Allocated bool
	Handle    string
	Attrs     map[string]string
	Reserved  bool // an IPReservation covers it
}

// LookupIP reports the pool, block and owner of ip.
func (a *Allocator) LookupIP(ctx context.Context, ip netip.Addr) (IPInfo, error) {
	ip = ip.Unmap()
	info := IPInfo{IP: ip}
	pools, err := a.allPools(ctx)
	if err != nil {
		return info, err
	}
	if p := poolFor(pools, ip); p != nil {
		info.Pool = p.Name
	}
	if res, err := a.reservations(ctx); err != nil {
		return info, err
	} else if res != nil {
		info.Reserved = res(ip)
	}
	cidr, ok, err := a.blockCIDRFor(ctx, ip, pools)
	if err != nil || !ok {
		return info, err
	}
	_, b, err := a.getBlock(ctx, cidr)
	if err != nil || b == nil {
		return info, err
	}
	info.Block = b.CIDR
	ord, _ := addrOrdinal(b.prefix, ip)
	if b.Allocations[ord] != nil {
		info.Allocated = true
		info.Handle = b.handleOf(ord)
		info.Attrs = b.attrsOf(ord)
	}
	return info, nil
}
