package ipam

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"

	"github.com/brindle-net/brindle/store"
)

// Combined block writes within one process (Options.Shared): the node agent serves many
// plugins' ADDs at once on one allocator (cni/broker.go). They combine as in batch.go, but
// the requests are posted in memory instead of files: the poster and the claimer live and
// die together, so the files' crash handling has nothing to add, and creating, renaming and
// reading files and FIFOs per request is most of what such a request costs. The turn is the
// same queue turn (in-process slot, then the host-wide lock file), so the agent's writes
// still take turns with plugins writing on their own.

// memPost is one request waiting in memory; done is closed once res is set by a claimer.
type memPost struct {
	req  batchReq
	res  batchResult
	done chan struct{}
}

type memBatches struct {
	mu sync.Mutex
	m  map[netip.Prefix][]*memPost
}

func (m *memBatches) add(cidr netip.Prefix, p *memPost) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[netip.Prefix][]*memPost{}
	}
	m.m[cidr] = append(m.m[cidr], p)
}

// remove withdraws p; false: a claimer has taken it (its result is coming).
func (m *memBatches) remove(cidr netip.Prefix, p *memPost) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.m[cidr]
	i := slices.Index(l, p)
	if i < 0 {
		return false
	}
	m.m[cidr] = slices.Delete(l, i, i+1)
	if len(m.m[cidr]) == 0 {
		delete(m.m, cidr)
	}
	return true
}

// claim takes own and up to maxBatch-1 other posted requests for cidr, own first.
func (m *memBatches) claim(cidr netip.Prefix, own *memPost) []*memPost {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*memPost{own}
	var rest []*memPost
	for _, p := range m.m[cidr] {
		switch {
		case p == own:
		case len(out) < maxBatch:
			out = append(out, p)
		default:
			rest = append(rest, p)
		}
	}
	if len(rest) == 0 {
		delete(m.m, cidr)
	} else {
		m.m[cidr] = rest
	}
	return out
}

// casBatchedMem is casBatched with the requests posted in memory.
func (a *Allocator) casBatchedMem(ctx context.Context, op blockOp, keys blockKeys) (served, skipTurn bool, err error) {
	p := &memPost{req: op.batch.req, done: make(chan struct{})}
	a.mem.add(op.cidr, p)
	// Wait for the turn or for a claimer to serve the request, whichever comes first.
	tctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-p.done:
			stop()
		case <-tctx.Done():
		}
	}()
	t := a.q.acquire(tctx, "block/"+op.cidr.String())
	select {
	case <-p.done:
		t.done()
		return a.takeMem(op, p.res)
	default:
	}
	if t == noTurn {
		if a.mem.remove(op.cidr, p) {
			return false, true, nil
		}
		// Claimed while we gave up: the claimer (in this process) always answers.
		select {
		case <-p.done:
			return a.takeMem(op, p.res)
		case <-ctx.Done():
			return false, false, ctx.Err()
		}
	}
	defer t.done()
	// A claimer closes done before it ends its turn, so holding the turn with done still
	// open means the request is still posted: claim it with the others.
	posts := a.mem.claim(op.cidr, p)
	reqs := make([]batchReq, len(posts))
	for i, q := range posts {
		reqs[i] = q.req
	}
	results := make([]batchResult, len(reqs))
	var last *store.KV
	err = a.combinedCAS(ctx, op, keys, t, reqs, results, &last)
	t.leaveHint(keys.block, last)
	for i := 1; i < len(posts); i++ {
		if err != nil {
			results[i] = batchResult{Fail: true}
		}
		posts[i].res = results[i]
		close(posts[i].done)
	}
	if errors.Is(err, errBatchHandle) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	op.batch.served(results[0].IPs)
	return true, false, nil
}

func (a *Allocator) takeMem(op blockOp, res batchResult) (bool, bool, error) {
	if res.Fail {
		return false, false, nil
	}
	op.batch.served(res.IPs)
	op.hint.known = false // the handle was written by another request's write
	return true, false, nil
}
