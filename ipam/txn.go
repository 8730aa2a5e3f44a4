package ipam

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/brindle-net/brindle/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// write is one multi-key atomic change: every op (store.Op semantics) plus optional guards
// that the keys under a prefix are unchanged since a read. The guard is what keeps a host's
// block count honest under concurrency: a claim fails if another allocator for the same host
// added an affinity after we listed them. store.Txn has no prefix compare, so this goes to
// the etcd client directly; keys still come from the store package.
type write struct {
	ops    []store.Op
	guards []prefixGuard
	same   []store.KV // keys that must still have this ModRevision (0: must not exist); not written
	// valueIs: keys that must still hold exactly this value. Used with remembered values:
	// should etcd be wiped and rebuilt under a running process, a revision alone could match
	// a different value.
	valueIs []store.KV
	also    *alsoOp // a caller's record created with this write if absent (see Also)
}

type prefixGuard struct {
	prefix string
	rev    int64 // no key under prefix may have ModRevision > rev
}

func (w *write) add(o store.Op) { w.ops = append(w.ops, o) }

func (a *Allocator) commit(ctx context.Context, w *write) error {
	_, _, err := a.commitElse(ctx, w)
	return err
}

// commitElse applies w and returns the revision it committed at. When a condition fails it
// returns store.ErrConflict together with the current values of reads (nil: absent), taken in
// the same transaction's Else branch, so that the caller can try again without another round
// trip.
func (a *Allocator) commitElse(ctx context.Context, w *write, reads ...string) (int64, []*store.KV, error) {
	var cmps []clientv3.Cmp
	var puts []clientv3.Op
	for _, o := range w.ops {
		switch {
		case o.ModRevision > 0:
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(o.Key), "=", o.ModRevision))
		case o.Delete:
			cmps = append(cmps, clientv3.Compare(clientv3.Version(o.Key), ">", 0))
		default:
			cmps = append(cmps, clientv3.Compare(clientv3.Version(o.Key), "=", 0))
		}
		if o.Delete {
			puts = append(puts, clientv3.OpDelete(o.Key))
		} else {
			puts = append(puts, clientv3.OpPut(o.Key, string(o.Value)))
		}
	}
	for _, kv := range w.same {
		if kv.ModRevision == 0 {
			cmps = append(cmps, clientv3.Compare(clientv3.Version(kv.Key), "=", 0))
		} else {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(kv.Key), "=", kv.ModRevision))
		}
	}
	for _, kv := range w.valueIs {
		cmps = append(cmps, clientv3.Compare(clientv3.Value(kv.Key), "=", string(kv.Value)))
	}
	for _, g := range w.guards {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(g.prefix), "<", g.rev+1).WithPrefix())
	}
	if w.also != nil {
		puts = append(puts, w.also.txnOp())
	}
	gets := make([]clientv3.Op, len(reads))
	for i, k := range reads {
		gets[i] = clientv3.OpGet(k)
	}
	resp, err := a.c.Etcd().Txn(ctx).If(cmps...).Then(puts...).Else(gets...).Commit()
	if err != nil {
		return 0, nil, err
	}
	if !resp.Succeeded {
		return 0, rangeValues(resp), store.ErrConflict
	}
	if w.also != nil {
		w.also.spec.Created = resp.Responses[len(puts)-1].GetResponseTxn().GetSucceeded()
	}
	return resp.Header.Revision, nil, nil
}

// readKeys reads several keys at one revision in one round trip (nil: absent).
func (a *Allocator) readKeys(ctx context.Context, keys ...string) ([]*store.KV, error) {
	gets := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		gets[i] = clientv3.OpGet(k)
	}
	resp, err := a.c.Etcd().Txn(ctx).Then(gets...).Commit()
	if err != nil {
		return nil, err
	}
	return rangeValues(resp), nil
}

func rangeValues(resp *clientv3.TxnResponse) []*store.KV {
	out := make([]*store.KV, len(resp.Responses))
	for i, r := range resp.Responses {
		rr := r.GetResponseRange()
		if rr == nil || len(rr.Kvs) == 0 {
			continue
		}
		kv := rr.Kvs[0]
		out[i] = &store.KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}
	}
	return out
}

// errRetry asks retry to run the step again (a CAS lost a race).
var errRetry = errors.New("retry")

// ErrMaxRetries is Calico's wording for an operation that kept losing races.
var ErrMaxRetries = errors.New("Max retries hit - excessive concurrent IPAM requests")

// retry runs fn until it returns something other than a conflict. The first retry follows
// at once (a lost CAS usually means one other writer got in first, and its write is already
// visible); after repeated losses, jittered exponential backoff spreads out writers that keep
// colliding.
func (a *Allocator) retry(ctx context.Context, what string, fn func() error) error {
	for attempt := 0; attempt < a.opts.MaxRetries; attempt++ {
		err := fn()
		if err == nil || !retryable(err) {
			return err
		}
		if err := a.backoff(ctx, attempt+1); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, ErrMaxRetries)
}

func retryable(err error) bool {
	return errors.Is(err, errRetry) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrAlreadyExists)
}

// quickRetries is how many losses in a row are retried without any pause.
const quickRetries = 1

// backoff pauses before the next attempt after losses lost races in a row: not at all for
// the first quickRetries, then a random time in [0, bound] with bound doubling from
// RetryBase up to 64x. Full jitter measured better than [bound/2, bound] without the queue
// (100 plugin processes on one block: 6.3-7.1 s against 8.9-9.6 s; docs/ipam.md).
func (a *Allocator) backoff(ctx context.Context, losses int) error {
	if losses <= quickRetries {
		return ctx.Err()
	}
	bound := int64(a.opts.RetryBase << min(losses-quickRetries-1, 6))
	t := time.NewTimer(time.Duration(rand.Int64N(bound + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
