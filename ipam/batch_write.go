package ipam

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/brindle-net/brindle/store"
)

// The combined write of batch.go: the turn holder assigns every posted request in one block
// transaction.

// combine claims every posted request for the block (its own first) and assigns them all in
// one write, retrying like casInTurn; then it leaves each poster its result.
func (a *Allocator) combine(ctx context.Context, op blockOp, keys blockKeys, t *turn, dir, own string) (bool, bool, error) {
	reqs := []batchReq{op.batch.req}
	names := []string{own}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		if len(reqs) >= maxBatch || !strings.HasSuffix(n, ".req") {
			continue
		}
		base := filepath.Join(dir, strings.TrimSuffix(n, ".req"))
		var r batchReq
		if os.Rename(base+".req", base+".claimed") != nil {
			continue
		}
		if data, err := os.ReadFile(base + ".claimed"); err != nil || json.Unmarshal(data, &r) != nil || r.Num <= 0 {
			os.Remove(base + ".claimed") // unreadable: its poster settles it from etcd
			continue
		}
		reqs, names = append(reqs, r), append(names, base)
	}
	results := make([]batchResult, len(reqs))
	var last *store.KV
	err := a.combinedCAS(ctx, op, keys, t, reqs, results, &last)
	t.leaveHint(keys.block, last)
	for i := 1; i < len(reqs); i++ {
		if err != nil {
			results[i] = batchResult{Fail: true}
		}
		results[i].ID = reqs[i].ID
		if writeAtomic(names[i]+".done", results[i]) == nil {
			ring(names[i])
		}
	}
	os.Remove(own + ".claimed")
	if errors.Is(err, errBatchHandle) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	op.batch.served(results[0].IPs)
	return true, false, nil
}

// combinedCAS assigns every request in reqs in one block write, own request (reqs[0]) by
// op's rules, the others only when the block still has all they asked for. A handle that
// exists after all (its request was not fresh) drops that request, which then assigns on its
// own. last is the block's value when done, for the next turn holder.
func (a *Allocator) combinedCAS(ctx context.Context, op blockOp, keys blockKeys, t *turn, reqs []batchReq, results []batchResult, last **store.KV) error {
	reads := []string{keys.block}
	for _, r := range reqs {
		reads = append(reads, store.HandleKey(r.Handle))
	}
	dropped := make([]bool, len(reqs))
	bkv := a.cache.get(op.cidr)
	if h := t.hint(keys.block); h != nil && (bkv == nil || h.ModRevision > bkv.ModRevision) {
		bkv = h
	}
	fresh := false
	if bkv == nil {
		vals, err := a.readKeys(ctx, keys.block)
		if err != nil {
			return &store.KeyError{Key: keys.block, Err: err}
		}
		bkv, fresh = vals[0], true
	}
	for losses := 0; ; {
		for i := range results {
			results[i] = batchResult{Fail: dropped[i]}
		}
		w, err := a.combinedWrite(op, bkv, fresh, reqs, dropped, results)
		if err != nil || w == nil {
			if err == nil && !fresh {
				// Decided on a remembered value: read and decide again.
				vals, rerr := a.readKeys(ctx, keys.block)
				if rerr != nil {
					return rerr
				}
				bkv, fresh = vals[0], true
				continue
			}
			if err == nil {
				*last = bkv
			}
			for i := 1; i < len(results); i++ {
				results[i].Fail = true // nothing taken here: each looks on its own
			}
			return err
		}
		rev, vals, err := a.commitElse(ctx, w, reads...)
		if err == nil {
			*last = a.cache.learn(op.cidr, keys.block, w, rev)
			op.hint.learn(keys.handle, w, rev)
			return nil
		}
		if !isConflict(err) {
			return err
		}
		bkv, fresh = vals[0], true
		a.cache.set(op.cidr, bkv)
		for i := range reqs {
			dropped[i] = dropped[i] || (i > 0 && vals[i+1] != nil)
		}
		if vals[1] != nil {
			// Our own handle exists: not a fresh request after all; do it the usual way.
			return errBatchHandle
		}
		losses++
		a.log.Debugw("block write lost to a concurrent writer; retrying", "block", op.cidr, "losses", losses, "combined", len(reqs))
		if losses >= a.opts.MaxRetries {
			return ErrMaxRetries
		}
		if err := a.backoff(ctx, losses); err != nil {
			return err
		}
	}
}

// combinedWrite is the write for reqs on block kv, filling results; nil when own request
// finds nothing to take (the block is absent, full, or not acceptable).
func (a *Allocator) combinedWrite(op blockOp, kv *store.KV, fresh bool, reqs []batchReq, dropped []bool, results []batchResult) (*write, error) {
	if looksFull(kv) {
		op.batch.accept(nil, true)
		return nil, nil
	}
	// A block that does not decode is reported once and skipped, as on the single path.
	b, ok := a.readableBlock(kv)
	if !ok || !op.batch.accept(b, false) {
		return nil, nil
	}
	w := &write{}
	for i, r := range reqs {
		if dropped[i] {
			continue
		}
		if i > 0 && freeIn(b, op.batch.reserved) < r.Num {
			results[i].Fail = true
			continue
		}
		ips := b.autoAssign(r.Num, r.Handle, r.Attrs, op.batch.reserved)
		if i == 0 && len(ips) == 0 {
			return nil, nil
		}
		results[i].IPs = ips
		if err := a.handleOp(w, r.Handle, nil, b.CIDR, len(ips)); err != nil {
			return nil, err
		}
	}
	b.SequenceNum++
	w.ops = append([]store.Op{{Key: kv.Key, Value: mustJSON(b), ModRevision: kv.ModRevision}}, w.ops...)
	if !fresh {
		w.valueIs = append(w.valueIs, *kv)
	}
	return w, nil
}

// freeIn counts the block's free, unreserved addresses.
func freeIn(b *Block, reserved func(netip.Addr) bool) int {
	n := 0
	for _, ord := range b.Unallocated {
		if reserved == nil || !reserved(OrdinalAddr(b.prefix, ord)) {
			n++
		}
	}
	return n
}
