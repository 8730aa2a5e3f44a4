package ipam

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/brindle-net/brindle/store"
)

// One block write: read the block and the handle that counts its addresses, change both,
// compare-and-swap both in one transaction. casBlock runs that loop inside the block's queue
// turn with one round trip per attempt: the first read fetches block and handle together
// (or skips the read when this process knows both), and a failed transaction's Else branch
// brings their current values for the next attempt.

// blockChange inspects the block (kv nil: absent; decode it with decodeBlockKV) and the
// handle (h nil: absent) and returns the write to make, or nil when there is nothing to do.
// It may be called several times and must not keep results of a call that was not the last.
type blockChange func(kv *store.KV, h *store.KV) (*write, error)

// handleHint is what a request knows about its handle key. A wrong guess is harmless (the CAS
// fails and brings the truth); a right one saves a read.
type handleHint struct {
	known bool
	kv    *store.KV // nil with known: believed absent
}

// learn records the handle's value after w committed at rev.
func (h *handleHint) learn(key string, w *write, rev int64) {
	for _, o := range w.ops {
		if o.Key != key {
			continue
		}
		h.known = true
		if o.Delete {
			h.kv = nil
		} else {
			h.kv = &store.KV{Key: key, Value: o.Value, ModRevision: rev}
		}
	}
}

// blockOp is one block write for casBlock.
type blockOp struct {
	cidr   netip.Prefix
	handle string      // the handle whose key rides along in reads ("" none)
	hint   *handleHint // what is known of that handle (nil: nothing)
	change blockChange
	// batch, if set, lets the write combine with other fresh requests for the block
	// (batch.go); change must then do what batch describes.
	batch *batchOp
	// noTurn: the turn could not be had just now; do not wait for it again.
	noTurn bool
}

// casBlock applies op.change to the block until its write commits or there is nothing to do.
// Decisions not to write (or errors) are only taken on values read from etcd in this call,
// never on remembered ones, which may be stale. When a remembered value says there is
// nothing to do (typically: the block is full), the fresh read happens outside the turn, so
// that allocators walking past a full block do not hold up those writing to it.
func (a *Allocator) casBlock(ctx context.Context, op blockOp) error {
	keys := blockKeys{block: store.BlockKey(op.cidr.String())}
	if op.handle != "" {
		keys.handle = store.HandleKey(op.handle)
	}
	if op.hint == nil {
		op.hint = &handleHint{}
	}
	recheck := false
	if known := a.peek(op, keys); known != nil {
		// What this process or the last holder remembers says there is nothing to do here:
		// do not queue for a turn just to find that out.
		w, err := op.change(known, op.hint.kv)
		recheck = err != nil || w == nil
	}
	if !recheck && op.batch != nil {
		batched := a.casBatched
		if a.opts.Shared {
			batched = a.casBatchedMem
		}
		done, noTurn, err := batched(ctx, op, keys)
		if done || err != nil {
			return err
		}
		op.noTurn = noTurn
	}
	if !recheck {
		var err error
		if recheck, err = a.casInTurn(ctx, op, keys, nil); !recheck {
			return err
		}
	}
	var cur blockValues
	if err := a.readBlockHandle(ctx, keys.block, keys.handle, &cur.block, &cur.handle); err != nil {
		return err
	}
	if w, err := op.change(cur.block, cur.handle); err != nil || w == nil {
		return err
	}
	_, err := a.casInTurn(ctx, op, keys, &cur)
	return err
}

type blockKeys struct{ block, handle string }

// peek returns the newest remembered value of the block (this process's cache, or the hint
// in its lock file read without the lock, so possibly torn: it only ever steers us towards
// a fresh read), or nil.
func (a *Allocator) peek(op blockOp, keys blockKeys) *store.KV {
	known := a.cache.get(op.cidr)
	if h := a.q.peekHint("block/"+op.cidr.String(), keys.block); h != nil && (known == nil || h.ModRevision > known.ModRevision) {
		known = h
	}
	return known
}

type blockValues struct{ block, handle *store.KV }

// casInTurn runs the CAS loop inside the block's turn, starting from start (values just read)
// or else from what this process or the last turn holder remembers. recheck true means that
// remembered values said there was nothing to do: the caller reads and decides.
func (a *Allocator) casInTurn(ctx context.Context, op blockOp, keys blockKeys, start *blockValues) (recheck bool, err error) {
	bkey, hkey := keys.block, keys.handle
	t := noTurn
	if !op.noTurn {
		t = a.q.acquire(ctx, "block/"+op.cidr.String())
	}
	keep := false      // leave the lock file's hint as it is
	var last *store.KV // the block's value when the turn ends, for the next holder
	defer func() {
		if !keep {
			t.leaveHint(bkey, last)
		}
		t.done()
	}()
	var bkv, hkv *store.KV
	fresh := start != nil
	if fresh {
		bkv, hkv = start.block, start.handle
	} else {
		known := a.cache.get(op.cidr)
		if h := t.hint(bkey); h != nil && (known == nil || h.ModRevision > known.ModRevision) {
			known = h
		}
		if known != nil && (op.hint.known || hkey == "") {
			bkv, hkv = known, op.hint.kv
		} else if err := a.readBlockHandle(ctx, bkey, hkey, &bkv, &hkv); err != nil {
			return false, err
		} else {
			fresh = true
		}
	}
	for losses := 0; ; {
		w, err := op.change(bkv, hkv)
		if err != nil || w == nil {
			if !fresh {
				keep = true
				return true, nil
			}
			if err == nil {
				last = bkv
			}
			return false, err
		}
		if !fresh && bkv != nil {
			w.valueIs = append(w.valueIs, *bkv)
		}
		reads := []string{bkey}
		if hkey != "" {
			reads = append(reads, hkey)
		}
		rev, vals, err := a.commitElse(ctx, w, reads...)
		if err == nil {
			last = a.cache.learn(op.cidr, bkey, w, rev)
			if hkey != "" {
				op.hint.learn(hkey, w, rev)
			}
			return false, nil
		}
		if !isConflict(err) {
			return false, err
		}
		bkv, hkv, fresh = vals[0], nil, true
		if hkey != "" {
			hkv = vals[1]
		}
		a.cache.set(op.cidr, bkv)
		losses++
		a.log.Debugw("block write lost to a concurrent writer; retrying", "block", op.cidr, "losses", losses)
		if losses >= a.opts.MaxRetries {
			return false, fmt.Errorf("writing block %s: %w", op.cidr, ErrMaxRetries)
		}
		if err := a.backoff(ctx, losses); err != nil {
			return false, fmt.Errorf("writing block %s: %w", op.cidr, err)
		}
		if losses > quickRetries {
			// We slept, and others wrote meanwhile: the Else values are stale by now, and a
			// CAS on them would lose again. Read just before trying.
			if err := a.readBlockHandle(ctx, bkey, hkey, &bkv, &hkv); err != nil {
				return false, err
			}
		}
	}
}

// readableBlock decodes a stored block (nil for an absent one). ok is false for a value that
// does not decode: it is reported once and the caller steps around the block, since one
// broken block must not fail every allocation or release on the host.
func (a *Allocator) readableBlock(kv *store.KV) (b *Block, ok bool) {
	b, err := decodeBlockKV(kv)
	if err != nil {
		a.c.ReportBroken(kv.Key, kv.ModRevision, err)
		return nil, false
	}
	return b, true
}

// decodeBlockKV decodes a stored block; nil for an absent one.
func decodeBlockKV(kv *store.KV) (*Block, error) {
	if kv == nil {
		return nil, nil
	}
	b, err := decodeBlock(kv.Value)
	if err != nil {
		return nil, &store.KeyError{Key: kv.Key, Err: err}
	}
	return b, nil
}

// looksFull tells from a block's stored JSON, without decoding it, that it has no free
// ordinal: a host's full blocks come first in every walk, and decoding each costs ~0.1 ms of
// CPU. Both Calico and brindle write the field compactly; any other spelling just decodes.
func looksFull(kv *store.KV) bool {
	return kv != nil && (bytes.Contains(kv.Value, []byte(`"unallocated":[]`)) || bytes.Contains(kv.Value, []byte(`"unallocated":null`)))
}

// readBlockHandle reads the block and (if hkey is set) the handle in one round trip.
func (a *Allocator) readBlockHandle(ctx context.Context, bkey, hkey string, bkv, hkv **store.KV) error {
	keys := []string{bkey}
	if hkey != "" {
		keys = append(keys, hkey)
	}
	vals, err := a.readKeys(ctx, keys...)
	if err != nil {
		return &store.KeyError{Key: bkey, Err: err}
	}
	*bkv, *hkv = vals[0], nil
	if hkey != "" {
		*hkv = vals[1]
	}
	return nil
}

// blockCache remembers the last value of the blocks this process wrote, so that the next
// writer of a block in this process can go straight to its CAS. A stale entry costs one
// failed transaction, never a wrong write.
type blockCache struct {
	mu sync.Mutex
	m  map[netip.Prefix]*store.KV
}

// maxCachedBlocks bounds the cache in long-running processes (an agent touches a few blocks;
// gc may touch thousands once).
const maxCachedBlocks = 256

func (c *blockCache) get(cidr netip.Prefix) *store.KV {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[cidr]
}

func (c *blockCache) set(cidr netip.Prefix, kv *store.KV) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if kv == nil {
		delete(c.m, cidr)
		return
	}
	if c.m == nil {
		c.m = map[netip.Prefix]*store.KV{}
	}
	if _, ok := c.m[cidr]; !ok && len(c.m) >= maxCachedBlocks {
		for k := range c.m { // map order is random enough for eviction
			delete(c.m, k)
			break
		}
	}
	c.m[cidr] = kv
}

// learn records (and returns) the block's value after w committed at rev; nil when w
// deleted the block or did not write it (then the old value is stale: forget it).
func (c *blockCache) learn(cidr netip.Prefix, key string, w *write, rev int64) *store.KV {
	var kv *store.KV
	for _, o := range w.ops {
		if o.Key == key && !o.Delete {
			kv = &store.KV{Key: key, Value: o.Value, ModRevision: rev}
		}
	}
	c.set(cidr, kv)
	return kv
}
