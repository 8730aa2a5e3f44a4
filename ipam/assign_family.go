package ipam

import (
	"context"
	"errors"
	"hash/fnv"
	"net/netip"
	"path"
	"slices"

	"github.com/brindle-net/brindle/store"
)

// famRequest is the part of an AutoAssign that concerns one address family.
type famRequest struct {
	host, handle  string
	attrs         map[string]string
	v6            bool
	num           int
	pools         []*pool
	cfg           Config
	reserved      func(netip.Addr) bool
	selectedPools bool // pools came from node selectors (not requested by name)
	allPools      []*pool
	labels        map[string]string
	hint          *handleHint // shared by the request's families
	// affs and affRev are the host's affinities as read with the rest of the request; the
	// first pass uses them, later passes list them again.
	affs   []affRef
	affRev int64
	also   *alsoState // set on the request's last family only
}

func (r *famRequest) inPools(cidr netip.Prefix) bool {
	for _, p := range r.pools {
		if p.CIDR.Overlaps(cidr) && p.BlockBits == cidr.Bits() {
			return true
		}
	}
	return false
}

// assignFamily runs Calico's order: the host's own blocks, then new blocks, then borrowing.
// Every pass re-reads what it needs, so losing a race only costs a retry.
func (a *Allocator) assignFamily(ctx context.Context, r famRequest) ([]netip.Prefix, error) {
	var got []netip.Prefix
	if len(r.pools) == 0 {
		return nil, &ExhaustedError{Family: family(r.v6), Wanted: r.num, Reason: ErrNoPools.Error() + " " + r.host}
	}
	if r.also != nil {
		r.also.got = &got
	}
	limitHit := false
	next := &affList{affs: r.affs, rev: r.affRev} // what the next pass may use without reading
	trustClaimHint := true
	err := a.retry(ctx, "assigning addresses", func() error {
		limitHit = false
		if next == nil {
			affs, rev, err := a.listAffinities(ctx, r.host, r.v6)
			if err != nil {
				return err
			}
			next = &affList{affs: affs, rev: rev}
		}
		affs, affRev := next.affs, next.rev
		next = nil
		// 1. Blocks affine to this host.
		for _, ar := range affs {
			if len(got) == r.num {
				return nil
			}
			if !r.inPools(ar.CIDR) {
				a.maybeReleaseUnselected(ctx, r, ar)
				continue
			}
			if ar.Aff.State == StatePendingDeletion {
				continue // someone is releasing it; do not allocate from it
			}
			ips, err := a.assignAffine(ctx, r, ar, r.num-len(got))
			got = append(got, ips...)
			if err != nil {
				return err
			}
		}
		if len(got) == r.num {
			return nil
		}
		// 2. Claim a new block, if allowed; the loop then allocates from it.
		if r.cfg.AutoAllocateBlocks {
			limit := r.cfg.MaxBlocksPerHost
			if limit == 0 {
				limit = DefaultMaxBlocksPerHost
			}
			if len(affs) >= limit {
				limitHit = true
			} else {
				claimed, fresh, err := a.claimTurn(ctx, r, len(affs), affRev, &trustClaimHint)
				if err != nil || claimed {
					next = fresh
					return err
				}
			}
		}
		if limitHit && r.cfg.MaxBlocksPerHost > 0 {
			return nil // Calico: hitting a configured block limit never borrows
		}
		// 3. Borrow from other blocks in the pools.
		if r.cfg.StrictAffinity {
			return nil
		}
		return a.borrow(ctx, r, &got)
	})
	if err != nil {
		return got, err
	}
	if len(got) < r.num {
		reason := "no free addresses in the pools"
		if limitHit {
			reason = ErrBlockLimit.Error()
		} else if r.cfg.StrictAffinity {
			reason = "no free block (strict affinity forbids borrowing)"
		}
		ex := &ExhaustedError{Family: family(r.v6), Wanted: r.num, Got: len(got), Reason: reason}
		if u, uerr := a.poolUsage(ctx, r.pools); uerr == nil {
			ex.Pools = u
		}
		return got, ex
	}
	return got, nil
}

// assignInBlock takes up to num addresses from block cidr and counts them in the handle,
// both in one transaction, if accept likes the block (b nil: absent, or full when full is
// set: a full block is not decoded). It returns what it took.
func (a *Allocator) assignInBlock(ctx context.Context, r famRequest, cidr netip.Prefix, num int, accept func(b *Block, full bool) bool) ([]netip.Prefix, error) {
	var ips []netip.Addr
	op := blockOp{cidr: cidr, handle: r.handle, hint: r.hint}
	op.change = func(kv *store.KV, h *store.KV) (*write, error) {
		ips = nil
		if looksFull(kv) {
			accept(nil, true)
			return nil, nil
		}
		b, ok := a.readableBlock(kv)
		if !ok || !accept(b, false) {
			return nil, nil
		}
		ips = b.autoAssign(num, r.handle, r.attrs, r.reserved)
		if len(ips) == 0 {
			return nil, nil
		}
		b.SequenceNum++
		w := &write{}
		var err error
		if w.also, err = r.also.op(ips, cidr.Bits(), num); err != nil {
			return nil, err
		}
		w.add(store.Op{Key: kv.Key, Value: mustJSON(b), ModRevision: kv.ModRevision})
		if err := a.handleOp(w, r.handle, h, b.CIDR, len(ips)); err != nil {
			return nil, err
		}
		return w, nil
	}
	if r.hint.known && r.hint.kv == nil && r.also == nil {
		// A fresh handle: the write may combine with other requests (batch.go).
		op.batch = &batchOp{req: batchReq{ID: batchID(), Handle: r.handle, Num: num, Attrs: r.attrs},
			accept: accept, reserved: r.reserved, served: func(got []netip.Addr) { ips = got }}
	}
	if err := a.casBlock(ctx, op); err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, len(ips))
	for i, ip := range ips {
		out[i] = netip.PrefixFrom(ip, cidr.Bits())
	}
	return out, nil
}

// addHandleOp appends the handle write that adds delta addresses in block cidr (delta may be
// negative; a handle that drops to zero is deleted), reading the handle first.
func (a *Allocator) addHandleOp(ctx context.Context, w *write, handleID, cidr string, delta int) error {
	kv, err := a.c.GetKV(ctx, store.HandleKey(handleID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		kv = nil
	case err != nil:
		return err
	}
	return a.handleOp(w, handleID, kv, cidr, delta)
}

// handleOp appends the write that adds delta addresses in block cidr to the handle whose
// current value is kv (nil: absent). A handle value that does not decode is reported and
// replaced (compare-and-swap on its revision) by what this write knows: the handle belongs
// to the container being added or deleted, and refusing would fail its ADD or DEL forever.
func (a *Allocator) handleOp(w *write, handleID string, kv *store.KV, cidr string, delta int) error {
	key := store.HandleKey(handleID)
	h := &Handle{Block: map[string]int{}}
	var rev int64
	if kv != nil {
		rev = kv.ModRevision
		if d, err := decodeHandle(kv.Value); err != nil {
			a.c.ReportBroken(key, rev, err)
		} else {
			h = d
		}
	}
	h.Block[cidr] += delta
	if h.Block[cidr] <= 0 {
		delete(h.Block, cidr)
	}
	switch {
	case len(h.Block) == 0 && rev > 0:
		w.add(store.Op{Key: key, Delete: true, ModRevision: rev})
	case len(h.Block) == 0:
		// Nothing stored and nothing to store.
	default:
		w.add(store.Op{Key: key, Value: mustJSON(h), ModRevision: rev})
	}
	return nil
}

// claimTurn claims a new block for the host inside the host's claim turn, so that allocators
// that all found the host's blocks full do not all list every block and race for a claim only
// one can win. When another allocator claimed (or dropped) a block since the caller listed
// known affinities at affRev, it claims nothing and returns the fresh list for the next pass.
// claimed false with a nil error means that no block is free.
func (a *Allocator) claimTurn(ctx context.Context, r famRequest, known int, affRev int64, trust *bool) (claimed bool, fresh *affList, err error) {
	t := a.q.acquire(ctx, "claim/"+r.host+"/"+famName(r.v6))
	defer t.done()
	prefix := store.AffinityPrefix(r.host, famName(r.v6))
	// The turn's file says when the last holder claimed: if after our listing, we need not
	// list again in the turn. The file is trusted once per request (a value from another
	// etcd, say, would otherwise send us round forever); the claim itself is guarded anyway.
	if h := t.hint(prefix); *trust && h != nil && h.ModRevision > affRev {
		*trust = false
		return true, nil, errRetry
	}
	affs, rev, err := a.listAffinities(ctx, r.host, r.v6)
	if err != nil {
		return false, nil, err
	}
	changed := len(affs) != known
	for _, ar := range affs {
		changed = changed || ar.KV.ModRevision > affRev
	}
	if changed {
		return true, &affList{affs: affs, rev: rev}, errRetry
	}
	cidr, ok, err := a.findFreeBlock(ctx, r)
	if err != nil || !ok {
		return false, nil, err
	}
	crev, err := a.claimNew(ctx, r.host, cidr, affRev)
	if err != nil {
		return true, nil, err
	}
	t.leaveHint(prefix, &store.KV{Key: prefix, Value: []byte("claimed"), ModRevision: crev})
	return true, nil, errRetry
}

// affList is a listing of the host's affinities and the revision it was read at.
type affList struct {
	affs []affRef
	rev  int64
}

// findFreeBlock walks the pools for a block CIDR nobody has created yet. It needs only which
// blocks exist, so it lists keys, not values: at 10,000 blocks decoding every value cost a
// new node about 0.2 s.
func (a *Allocator) findFreeBlock(ctx context.Context, r famRequest) (netip.Prefix, bool, error) {
	keys, err := a.c.ListKeys(ctx, store.BlockPrefix(famName(r.v6)))
	if err != nil {
		return netip.Prefix{}, false, err
	}
	taken := make(map[netip.Prefix]bool, len(keys))
	for _, k := range keys {
		if p, err := netip.ParsePrefix(store.CIDRFromKeySuffix(path.Base(k))); err == nil {
			taken[p.Masked()] = true
		}
	}
	for _, p := range r.pools {
		// Blocks of another size (a pool recreated with a new blockSize) may overlap a
		// candidate without being equal to it; only those need the overlap scan.
		var odd []netip.Prefix
		for t := range taken {
			if t.Bits() != p.BlockBits && p.CIDR.Overlaps(t) {
				odd = append(odd, t)
			}
		}
		var found netip.Prefix
		blockWalk(p, r.host, func(c netip.Prefix) bool {
			if taken[c] || slices.ContainsFunc(odd, c.Overlaps) {
				return true
			}
			found = c
			return false
		})
		if found.IsValid() {
			return found, true, nil
		}
	}
	return netip.Prefix{}, false, nil
}

// borrow allocates from blocks this host does not own (Calico's non-strict fallback).
func (a *Allocator) borrow(ctx context.Context, r famRequest, got *[]netip.Prefix) error {
	blocks, err := a.listBlocks(ctx, r.v6)
	if err != nil {
		return err
	}
	for _, p := range r.pools {
		cands := blocksInPoolFrom(blocks, p, r.host)
		for _, br := range cands {
			if len(*got) == r.num {
				return nil
			}
			if br.B.AffinityHost() == r.host || len(br.B.Unallocated) == 0 {
				continue
			}
			ips, err := a.assignInBlock(ctx, r, br.B.prefix, r.num-len(*got), func(b *Block, _ bool) bool {
				return b != nil && b.AffinityHost() != r.host
			})
			*got = append(*got, ips...)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// maybeReleaseUnselected drops an empty affine block whose pool no longer selects this host
// (or no longer exists), as Calico does at the start of an auto-assign. Best effort.
func (a *Allocator) maybeReleaseUnselected(ctx context.Context, r famRequest, ar affRef) {
	if !r.selectedPools {
		return
	}
	if p := poolFor(r.allPools, ar.CIDR.Addr()); p != nil && p.selects(r.labels) {
		return // still selected; just not used for this request (another family of use)
	}
	if _, err := a.releaseAffinity(ctx, r.host, ar.CIDR, true); err != nil {
		a.log.Debugw("could not release unselected empty block", "cidr", ar.CIDR.String(), "error", err)
	}
}

// blocksInPoolFrom lists the existing blocks of a pool in address order, rotated to start at a
// host-specific point so that borrowing hosts do not all pile onto the same block.
func blocksInPoolFrom(blocks map[netip.Prefix]blockRef, p *pool, host string) []blockRef {
	var out []blockRef
	for c, br := range blocks {
		if p.CIDR.Contains(c.Addr()) {
			out = append(out, br)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(x, y blockRef) int { return x.B.prefix.Addr().Compare(y.B.prefix.Addr()) })
	h := fnv.New32()
	h.Write([]byte(host))
	k := int(h.Sum32() % uint32(len(out)))
	return append(out[k:], out[:k]...)
}
