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
}

type prefixGuard struct {
	prefix string
	rev    int64 // no key under prefix may have ModRevision > rev
}

func (w *write) add(o store.Op) { w.ops = append(w.ops, o) }

func (a *Allocator) commit(ctx context.Context, w *write) error {
	if len(w.guards) == 0 && len(w.same) == 0 {
		_, err := a.c.Txn(ctx, w.ops...)
		return err
	}
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
	for _, g := range w.guards {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(g.prefix), "<", g.rev+1).WithPrefix())
	}
	resp, err := a.c.Etcd().Txn(ctx).If(cmps...).Then(puts...).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return store.ErrConflict
	}
	return nil
}

// errRetry asks retry to run the step again (a CAS lost a race).
var errRetry = errors.New("retry")

// ErrMaxRetries is Calico's wording for an operation that kept losing races.
var ErrMaxRetries = errors.New("Max retries hit - excessive concurrent IPAM requests")

// retry runs fn until it returns something other than a conflict, with jittered exponential
// backoff so that many allocators on one block spread out instead of colliding in lockstep.
func (a *Allocator) retry(ctx context.Context, what string, fn func() error) error {
	for attempt := 0; attempt < a.opts.MaxRetries; attempt++ {
		err := fn()
		if err == nil || !(errors.Is(err, errRetry) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrAlreadyExists)) {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("%s: %w", what, cerr)
		}
		back := a.opts.RetryBase << min(attempt, 6)
		t := time.NewTimer(time.Duration(rand.Int64N(int64(back) + 1)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("%s: %w", what, ErrMaxRetries)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
