package ipam

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/brindle-net/brindle/store"
)

// Block affinity: which host a block belongs to. Calico claims a block in three steps
// (pending affinity, create block, confirm). brindle writes the confirmed affinity and the new
// block in one transaction instead, so no pending state survives a crash; pending affinities
// written by Calico's own clients are still understood and finished.

type affRef struct {
	CIDR netip.Prefix
	KV   store.KV
	Aff  *Affinity
}

func famName(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

// listAffinities returns the host's affinities of one family and the revision of the read.
func (a *Allocator) listAffinities(ctx context.Context, host string, v6 bool) ([]affRef, int64, error) {
	prefix := store.AffinityPrefix(host, famName(v6))
	kvs, rev, err := a.c.ListKV(ctx, prefix)
	if err != nil {
		return nil, 0, err
	}
	return a.parseAffinities(prefix, kvs), rev, nil
}

// parseAffinities decodes the affinity keys listed under prefix, skipping bad ones.
func (a *Allocator) parseAffinities(prefix string, kvs []store.KV) []affRef {
	out := make([]affRef, 0, len(kvs))
	for _, kv := range kvs {
		cidr, err := netip.ParsePrefix(store.CIDRFromKeySuffix(strings.TrimPrefix(kv.Key, prefix)))
		if err != nil {
			a.log.Warnw("ignoring affinity key with a bad CIDR", "key", kv.Key)
			continue
		}
		aff, err := decodeAffinity(kv.Value)
		if err != nil {
			a.c.ReportBroken(kv.Key, kv.ModRevision, err)
			continue
		}
		out = append(out, affRef{CIDR: cidr, KV: kv, Aff: aff})
	}
	return out
}

// getBlock reads a block; nil, nil when it does not exist.
func (a *Allocator) getBlock(ctx context.Context, cidr netip.Prefix) (*store.KV, *Block, error) {
	kv, err := a.c.GetKV(ctx, store.BlockKey(cidr.String()))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	b, err := decodeBlock(kv.Value)
	if err != nil {
		return nil, nil, &store.KeyError{Key: kv.Key, Err: err}
	}
	return kv, b, nil
}

// listBlocks reads every block of a family, keyed by CIDR.
func (a *Allocator) listBlocks(ctx context.Context, v6 bool) (map[netip.Prefix]blockRef, error) {
	kvs, _, err := a.c.ListKV(ctx, store.BlockPrefix(famName(v6)))
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Prefix]blockRef, len(kvs))
	for _, kv := range kvs {
		b, err := decodeBlock(kv.Value)
		if err != nil {
			a.c.ReportBroken(kv.Key, kv.ModRevision, err)
			continue
		}
		out[b.prefix] = blockRef{KV: kv, B: b}
	}
	return out, nil
}

type blockRef struct {
	KV store.KV
	B  *Block
}

// claimNew creates a block affine to host together with its confirmed affinity. guardRev
// makes the write fail if any affinity of this host changed after the caller counted them,
// which keeps concurrent allocators of one host from claiming several blocks at once.
// It returns the revision of the claim.
func (a *Allocator) claimNew(ctx context.Context, host string, cidr netip.Prefix, guardRev int64) (int64, error) {
	b := newBlock(cidr, hostAffinity(host))
	w := &write{guards: []prefixGuard{{prefix: store.AffinityPrefix(host, famName(cidr.Addr().Is6())), rev: guardRev}}}
	w.add(store.Op{Key: store.AffinityKey(host, cidr.String()), Value: mustJSON(Affinity{State: StateConfirmed})})
	w.add(store.Op{Key: store.BlockKey(cidr.String()), Value: mustJSON(b)})
	rev, _, err := a.commitElse(ctx, w)
	if err != nil {
		return 0, err
	}
	a.log.Infow("claimed block", "host", host, "cidr", cidr.String())
	return rev, nil
}

// assignAffine allocates up to num addresses from a block affine to the host, and brings the
// affinity into a usable state on the way (Calico's getBlockFromAffinity): a missing block is
// created, a pending claim on our own block is confirmed, and an affinity whose block belongs
// to someone else is deleted. Conflicts come back as errors for the caller to retry.
func (a *Allocator) assignAffine(ctx context.Context, r famRequest, ar affRef, num int) ([]netip.Prefix, error) {
	var missing, foreign bool
	ips, err := a.assignInBlock(ctx, r, ar.CIDR, num, func(b *Block, full bool) bool {
		missing, foreign = b == nil && !full, b != nil && b.AffinityHost() != r.host
		return b != nil && !foreign
	})
	if err != nil {
		return ips, err
	}
	key := store.AffinityKey(r.host, ar.CIDR.String())
	switch {
	case missing:
		nb := newBlock(ar.CIDR, hostAffinity(r.host))
		w := &write{}
		w.add(store.Op{Key: key, Value: mustJSON(Affinity{State: StateConfirmed}), ModRevision: ar.KV.ModRevision})
		w.add(store.Op{Key: store.BlockKey(ar.CIDR.String()), Value: mustJSON(nb)})
		if err := a.commit(ctx, w); err != nil {
			return nil, err
		}
		return nil, errRetry // allocate from it on the next pass
	case foreign:
		a.log.Infow("deleting stale affinity", "host", r.host, "cidr", ar.CIDR.String())
		if err := a.c.DeleteKV(ctx, key, ar.KV.ModRevision); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	case ar.Aff.State == StatePending:
		if _, err := a.c.UpdateKV(ctx, key, mustJSON(Affinity{State: StateConfirmed}), ar.KV.ModRevision); err != nil {
			return ips, err
		}
	}
	return ips, nil
}

// releaseAffinity drops host's claim on a block: an empty block is deleted, a block still
// holding addresses loses its affinity (so it can be borrowed from and later reclaimed).
// With onlyIfEmpty a non-empty block is left alone. One transaction, compare-and-swap on both.
func (a *Allocator) releaseAffinity(ctx context.Context, host string, cidr netip.Prefix, onlyIfEmpty bool) (released bool, err error) {
	err = a.retry(ctx, "releasing block affinity", func() error {
		released = false
		akey := store.AffinityKey(host, cidr.String())
		akv, err := a.c.GetKV(ctx, akey)
		if errors.Is(err, store.ErrNotFound) {
			akv = nil
		} else if err != nil {
			return err
		}
		kv, b, err := a.getBlock(ctx, cidr)
		if err != nil {
			return err
		}
		w := &write{}
		if akv != nil {
			w.add(store.Op{Key: akey, Delete: true, ModRevision: akv.ModRevision})
		}
		if b != nil && b.AffinityHost() == host {
			switch {
			case b.empty():
				w.add(store.Op{Key: kv.Key, Delete: true, ModRevision: kv.ModRevision})
			case onlyIfEmpty:
				return nil
			default:
				b.Affinity = nil
				b.SequenceNum++
				w.add(store.Op{Key: kv.Key, Value: mustJSON(b), ModRevision: kv.ModRevision})
			}
		}
		if len(w.ops) == 0 {
			return nil
		}
		if err := a.commit(ctx, w); err != nil {
			return err
		}
		released = true
		return nil
	})
	return released, err
}

// ReleaseHostAffinities releases every block affinity of host (both families), as Calico does
// when a node is removed: empty blocks are deleted, others become unaffined.
func (a *Allocator) ReleaseHostAffinities(ctx context.Context, host string) error {
	for _, v6 := range []bool{false, true} {
		affs, _, err := a.listAffinities(ctx, host, v6)
		if err != nil {
			return err
		}
		for _, ar := range affs {
			if _, err := a.releaseAffinity(ctx, host, ar.CIDR, false); err != nil {
				return err
			}
		}
	}
	return nil
}
