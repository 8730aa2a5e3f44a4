package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/store"
)

// ReleaseOptions names one address to free, optionally only if it is still held by Handle
// and/or was allocated at SequenceNumber (so a stale caller cannot free a reused address).
type ReleaseOptions struct {
	Address        netip.Addr
	Handle         string
	SequenceNumber *uint64
}

// ReleaseIPs frees addresses. It returns the addresses it did not free because they were not
// allocated, or no longer matched the given handle or sequence number.
func (a *Allocator) ReleaseIPs(ctx context.Context, ips ...ReleaseOptions) ([]netip.Addr, error) {
	pools, err := a.allPools(ctx)
	if err != nil {
		return nil, err
	}
	byBlock := map[netip.Prefix][]ReleaseOptions{}
	var unallocated []netip.Addr
	for _, o := range ips {
		if !o.Address.IsValid() {
			return nil, errors.New("Address: is required")
		}
		o.Address = o.Address.Unmap()
		cidr, ok, err := a.blockCIDRFor(ctx, o.Address, pools)
		if err != nil {
			return nil, err
		}
		if !ok {
			unallocated = append(unallocated, o.Address)
			continue
		}
		byBlock[cidr] = append(byBlock[cidr], o)
	}
	for cidr, opts := range byBlock {
		skipped, err := a.releaseInBlock(ctx, cidr, opts)
		unallocated = append(unallocated, skipped...)
		if err != nil {
			return unallocated, err
		}
	}
	return unallocated, nil
}

// blockCIDRFor finds the block that would hold ip: from its pool's block size, or, for an
// address outside every pool (pool deleted), from the stored blocks.
func (a *Allocator) blockCIDRFor(ctx context.Context, ip netip.Addr, pools []*pool) (netip.Prefix, bool, error) {
	if p := poolFor(pools, ip); p != nil {
		return p.blockFor(ip), true, nil
	}
	blocks, err := a.listBlocks(ctx, ip.Is6())
	if err != nil {
		return netip.Prefix{}, false, err
	}
	for c := range blocks {
		if c.Contains(ip) {
			return c, true, nil
		}
	}
	return netip.Prefix{}, false, nil
}

func (a *Allocator) releaseInBlock(ctx context.Context, cidr netip.Prefix, opts []ReleaseOptions) ([]netip.Addr, error) {
	var skipped []netip.Addr
	primary := ""
	if len(opts) > 0 && opts[0].Handle != "" {
		primary = opts[0].Handle // usually every address of one call has the same handle
	}
	err := a.casBlock(ctx, blockOp{cidr: cidr, handle: primary, change: func(kv *store.KV, h *store.KV) (*write, error) {
		skipped = skipped[:0]
		b, ok := a.readableBlock(kv)
		if !ok || b == nil {
			for _, o := range opts {
				skipped = append(skipped, o.Address)
			}
			return nil, nil
		}
		var ords []int
		for _, o := range opts {
			ord, _ := addrOrdinal(b.prefix, o.Address)
			if !b.matches(ord, o) {
				skipped = append(skipped, o.Address)
				continue
			}
			ords = append(ords, ord)
		}
		if len(ords) == 0 {
			return nil, nil
		}
		return a.releaseWrite(ctx, kv, b, ords, primary, h)
	}})
	return skipped, err
}

// matches reports whether ordinal ord is allocated as o describes.
func (b *Block) matches(ord int, o ReleaseOptions) bool {
	if b.Allocations[ord] == nil {
		return false
	}
	if o.Handle != "" && b.handleOf(ord) != o.Handle {
		return false
	}
	if o.SequenceNumber != nil && b.SeqForAlloc[fmt.Sprint(ord)] != *o.SequenceNumber {
		return false
	}
	return true
}

// releaseWrite frees ords in b and decrements every affected handle, as one write. An empty
// block without affinity is deleted, as Calico does. The handle named primary has value hkv
// (nil: absent); other handles are read.
func (a *Allocator) releaseWrite(ctx context.Context, kv *store.KV, b *Block, ords []int, primary string, hkv *store.KV) (*write, error) {
	lost := b.release(ords)
	w := &write{}
	if b.empty() && b.Affinity == nil {
		w.add(store.Op{Key: kv.Key, Delete: true, ModRevision: kv.ModRevision})
	} else {
		b.SequenceNum++
		w.add(store.Op{Key: kv.Key, Value: mustJSON(b), ModRevision: kv.ModRevision})
	}
	handles := make([]string, 0, len(lost))
	for h := range lost {
		handles = append(handles, h)
	}
	slices.Sort(handles)
	for _, h := range handles {
		var err error
		switch h {
		case "":
			continue
		case primary:
			err = a.handleOp(w, h, hkv, b.CIDR, -lost[h])
		default:
			err = a.addHandleOp(ctx, w, h, b.CIDR, -lost[h])
		}
		if err != nil {
			return nil, err
		}
	}
	return w, nil
}

// ReleaseByHandle frees every address held by handleID. A missing handle is not an error
// (CNI DEL must be idempotent).
func (a *Allocator) ReleaseByHandle(ctx context.Context, handleID string) error {
	if handleID == "" {
		return errors.New("handleID: is required")
	}
	hkv, err := a.c.GetKV(ctx, store.HandleKey(handleID))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	h, err := decodeHandle(hkv.Value)
	if err != nil {
		// The handle cannot say where its addresses are; the blocks can (each allocation
		// names its handle). Releasing them rewrites the handle, which removes it.
		a.c.ReportBroken(hkv.Key, hkv.ModRevision, err)
		if h, err = a.handleFromBlocks(ctx, handleID); err != nil {
			return err
		}
		if len(h.Block) == 0 {
			// No address anywhere: only the broken key is left to remove.
			if err := a.c.DeleteKV(ctx, hkv.Key, hkv.ModRevision); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
				return err
			}
			return nil
		}
	}
	hint := &handleHint{known: true, kv: hkv}
	for cidrStr := range h.Block {
		cidr, err := netip.ParsePrefix(cidrStr)
		if err != nil {
			a.c.ReportBroken(hkv.Key, hkv.ModRevision, fmt.Errorf("block %q: %w", cidrStr, err))
			continue
		}
		err = a.casBlock(ctx, blockOp{cidr: cidr, handle: handleID, hint: hint, change: func(kv *store.KV, hkv *store.KV) (*write, error) {
			b, ok := a.readableBlock(kv)
			if !ok {
				return nil, nil // its addresses stay taken until the block is repaired
			}
			var ords []int
			if b != nil {
				ords = b.ordinalsOfHandle(handleID)
			}
			if len(ords) > 0 {
				return a.releaseWrite(ctx, kv, b, ords, handleID, hkv)
			}
			// The handle counts addresses the block does not hold: fix the count only, and
			// only if the block is still as read (the decision rests on it).
			same := store.KV{Key: store.BlockKey(cidr.String())}
			if kv != nil {
				same.ModRevision = kv.ModRevision
			}
			w := &write{same: []store.KV{same}}
			if err := a.dropHandleBlockOp(w, handleID, hkv, cidrStr); err != nil || len(w.ops) == 0 {
				return nil, err
			}
			return w, nil
		}})
		if err != nil {
			return fmt.Errorf("releasing handle %s: %w", handleID, err)
		}
	}
	return nil
}

// dropHandleBlockOp appends the write that removes block cidr from the handle (value kv, nil:
// absent) entirely.
func (a *Allocator) dropHandleBlockOp(w *write, handleID string, kv *store.KV, cidr string) error {
	if kv == nil {
		return nil
	}
	h, err := decodeHandle(kv.Value)
	if err != nil {
		// Unreadable, so it counts nothing the block holds: delete it (see handleOp).
		a.c.ReportBroken(kv.Key, kv.ModRevision, err)
		w.add(store.Op{Key: kv.Key, Delete: true, ModRevision: kv.ModRevision})
		return nil
	}
	if _, ok := h.Block[cidr]; !ok {
		return nil
	}
	delete(h.Block, cidr)
	if len(h.Block) == 0 {
		w.add(store.Op{Key: kv.Key, Delete: true, ModRevision: kv.ModRevision})
	} else {
		w.add(store.Op{Key: kv.Key, Value: mustJSON(h), ModRevision: kv.ModRevision})
	}
	return nil
}

func (a *Allocator) getHandle(ctx context.Context, handleID string) (*Handle, error) {
	kv, err := a.c.GetKV(ctx, store.HandleKey(handleID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h, err := decodeHandle(kv.Value)
	if err != nil {
		return nil, &store.KeyError{Key: kv.Key, Err: err}
	}
	return h, nil
}

// IPsByHandle lists the addresses handleID holds (none when the handle does not exist).
func (a *Allocator) IPsByHandle(ctx context.Context, handleID string) ([]netip.Addr, error) {
	h, err := a.getHandle(ctx, handleID)
	if err != nil || h == nil {
		return nil, err
	}
	var out []netip.Addr
	for cidrStr := range h.Block {
		cidr, err := netip.ParsePrefix(cidrStr)
		if err != nil {
			return nil, fmt.Errorf("handle %q: block %q: %w", handleID, cidrStr, err)
		}
		_, b, err := a.getBlock(ctx, cidr)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		for _, ord := range b.ordinalsOfHandle(handleID) {
			out = append(out, OrdinalAddr(b.prefix, ord))
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out, nil
}

// handleFromBlocks rebuilds what a handle counts from the blocks' own records, for a handle
// whose value does not decode.
func (a *Allocator) handleFromBlocks(ctx context.Context, handleID string) (*Handle, error) {
	h := &Handle{Block: map[string]int{}}
	for _, v6 := range []bool{false, true} {
		blocks, err := a.listBlocks(ctx, v6)
		if err != nil {
			return nil, err
		}
		for _, br := range blocks {
			if n := len(br.B.ordinalsOfHandle(handleID)); n > 0 {
				h.Block[br.B.CIDR] = n
			}
		}
	}
	return h, nil
}
