package ipam

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A CNI ADD is a fresh process: every etcd request it makes is a round trip and CPU on both
// ends, which is what 100 plugins started at once on a small host run short of. Prefetch and
// Also let a caller fold its own reads and its own record into the allocator's requests, so
// that a fresh ADD makes two: one read transaction and one write transaction.

// Prefetched is what an AutoAssign reads before its first write (the request view and the
// handle), read together with the caller's own keys in one transaction at one revision.
type Prefetched struct {
	host   string
	view   *requestView
	handle *store.KV
	extra  []*store.KV
}

// Prefetch reads, in one round trip, the request view for host, the handle, and the caller's
// extra keys (single keys, not prefixes).
func (a *Allocator) Prefetch(ctx context.Context, host, handleID string, extra ...string) (*Prefetched, error) {
	ops := viewOps(host)
	nView := len(ops)
	ops = append(ops, clientv3.OpGet(store.HandleKey(handleID)))
	for _, k := range extra {
		ops = append(ops, clientv3.OpGet(k))
	}
	resp, err := a.c.Etcd().Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, fmt.Errorf("reading IPAM state for %s: %w", host, err)
	}
	singles := rangeValues(resp)[nView:]
	p := &Prefetched{host: host, handle: singles[0], extra: singles[1:]}
	// A view that does not decode is reported by AutoAssign (which reads it again); the
	// caller's keys are still good.
	p.view, _ = a.parseView(host, resp, 0)
	return p, nil
}

// Extra is the value of the caller's i-th extra key (nil: absent).
func (p *Prefetched) Extra(i int) *store.KV { return p.extra[i] }

// HandleExists says whether the handle held any addresses when read.
func (p *Prefetched) HandleExists() bool { return p.handle != nil }

// Also is a record created in the transaction that completes an AutoAssign, if it does not
// exist yet: the CNI plugin's WorkloadEndpoint, which then needs no write of its own. It is
// an inner transaction (create if absent), so an existing record never fails the
// assignment; Created says whether it was written.
type Also struct {
	// Build returns the key and value given every address of the request (with the masks
	// AutoAssign returns). It may be called more than once; only the committed call counts.
	Build   func(ips []netip.Prefix) (key string, value []byte, err error)
	Created bool
}

// alsoState carries an Also through the families of a request: it joins the write that
// completes the last family requested.
type alsoState struct {
	spec  *Also
	prior []netip.Prefix  // addresses of the families before this one
	got   *[]netip.Prefix // what the current family holds so far
}

// op returns the inner transaction to add to a block write that takes ips (the family then
// still needs num in total from this write), or nil when this write does not complete it.
func (s *alsoState) op(ips []netip.Addr, bits, num int) (*alsoOp, error) {
	if s == nil || s.spec == nil || len(ips) < num {
		return nil, nil
	}
	all := append([]netip.Prefix{}, s.prior...)
	all = append(all, *s.got...)
	for _, ip := range ips {
		all = append(all, netip.PrefixFrom(ip, bits))
	}
	key, value, err := s.spec.Build(all)
	if err != nil {
		return nil, err
	}
	return &alsoOp{key: key, value: value, spec: s.spec}, nil
}

// alsoOp is an Also ready to join a write.
type alsoOp struct {
	key   string
	value []byte
	spec  *Also
}

func (o *alsoOp) txnOp() clientv3.Op {
	return clientv3.OpTxn(
		[]clientv3.Cmp{clientv3.Compare(clientv3.Version(o.key), "=", 0)},
		[]clientv3.Op{clientv3.OpPut(o.key, string(o.value))}, nil)
}
