package ipam

import (
	"context"
	"net/netip"
	"time"

	"github.com/brindle-net/brindle/store"
)

// GCOptions tune garbage collection.
type GCOptions struct {
	DryRun      bool
	GracePeriod time.Duration // 0: DefaultGracePeriod
}

// GCReport says what gc found and did.
type GCReport struct {
	Check             CheckReport  // the findings gc acted on
	Released          []netip.Addr // leaked addresses freed
	Skipped           []netip.Addr // leaks that changed owner before gc reached them
	HandlesFixed      []string
	AffinitiesRemoved []string // "<host> <block>"
	DryRun            bool
}

// GC reclaims what Check reports as fixable: leaked addresses past the grace period, handle
// counts that disagree with their blocks, affinities of nodes that no longer exist and
// affinity keys no block backs. It never frees an address whose owner exists: every release
// is guarded by the handle and allocation sequence number it judged, so an address freed and
// reused in the meantime is left alone; and a handle fix compares every block it is based on.
func (a *Allocator) GC(ctx context.Context, o GCOptions) (GCReport, error) {
	s, err := a.takeScan(ctx)
	if err != nil {
		return GCReport{}, err
	}
	rep := GCReport{Check: s.report(graceOrDefault(o.GracePeriod)), DryRun: o.DryRun}
	if o.DryRun {
		return rep, nil
	}
	// 1. Leaked addresses, each guarded by handle and sequence number.
	var rel []ReleaseOptions
	for _, l := range rep.Check.Leaks {
		ro := ReleaseOptions{Address: l.IP, Handle: l.Handle}
		if l.hasSeq {
			seq := l.Seq
			ro.SequenceNumber = &seq
		}
		rel = append(rel, ro)
	}
	if len(rel) > 0 {
		skipped, err := a.ReleaseIPs(ctx, rel...)
		if err != nil {
			return rep, err
		}
		rep.Skipped = skipped
		skip := map[netip.Addr]bool{}
		for _, ip := range skipped {
			skip[ip] = true
		}
		for _, r := range rel {
			if !skip[r.Address] {
				rep.Released = append(rep.Released, r.Address)
			}
		}
		a.log.Infow("gc released leaked addresses", "count", len(rep.Released), "skipped", len(skipped))
	}
	// 2. Handle counts. Re-read after the releases; only the handles found wrong are touched.
	fixed, err := a.fixHandles(ctx, rep.Check.HandleMismatches)
	rep.HandlesFixed = fixed
	if err != nil {
		return rep, err
	}
	// 3. Affinities of missing nodes, and affinity keys with no block behind them.
	done := map[string]bool{}
	for _, ob := range rep.Check.OrphanBlocks {
		if done[ob.Host+" "+ob.Block] {
			continue
		}
		done[ob.Host+" "+ob.Block] = true
		cidr, err := netip.ParsePrefix(ob.Block)
		if err != nil {
			continue
		}
		if ok, err := a.releaseAffinity(ctx, ob.Host, cidr, false); err != nil {
			return rep, err
		} else if ok {
			rep.AffinitiesRemoved = append(rep.AffinitiesRemoved, ob.Host+" "+ob.Block)
		}
	}
	for _, sa := range rep.Check.StaleAffinities {
		if done[sa.Host+" "+sa.Block] {
			continue
		}
		if err := a.dropStaleAffinity(ctx, s, sa); err != nil {
			return rep, err
		}
		rep.AffinitiesRemoved = append(rep.AffinitiesRemoved, sa.Host+" "+sa.Block)
	}
	return rep, nil
}

// fixHandles rewrites each mismatched handle to match its blocks. The write compares the
// handle and every block it counts, so it cannot race an allocation or release.
func (a *Allocator) fixHandles(ctx context.Context, ms []HandleMismatch) ([]string, error) {
	ids := map[string]bool{}
	for _, m := range ms {
		ids[m.Handle] = true
	}
	var fixed []string
	for id := range ids {
		err := a.retry(ctx, "fixing handle "+id, func() error {
			s, err := a.takeHandleView(ctx, id)
			if err != nil {
				return err
			}
			return a.commit(ctx, s)
		})
		if err != nil {
			return fixed, err
		}
		fixed = append(fixed, id)
	}
	return fixed, nil
}

// takeHandleView builds the write that makes handle id match what the blocks hold.
func (a *Allocator) takeHandleView(ctx context.Context, id string) (*write, error) {
	w := &write{}
	key := store.HandleKey(id)
	kv, err := a.c.GetKV(ctx, key)
	var h *Handle
	var rev int64
	switch {
	case err == nil:
		if h, err = decodeHandle(kv.Value); err != nil {
			h = &Handle{Block: map[string]int{}}
		}
		rev = kv.ModRevision
	case isNotFound(err):
		h = &Handle{Block: map[string]int{}}
	default:
		return nil, err
	}
	want := map[string]int{}
	for _, v6 := range []bool{false, true} {
		blocks, err := a.listBlocks(ctx, v6)
		if err != nil {
			return nil, err
		}
		for c, br := range blocks {
			n := len(br.B.ordinalsOfHandle(id))
			_, counted := h.Block[c.String()]
			if n > 0 || counted {
				w.same = append(w.same, br.KV)
			}
			if n > 0 {
				want[c.String()] = n
			}
		}
	}
	// Blocks the handle names that no longer exist must still not exist at commit time.
	for blk := range h.Block {
		if p, err := netip.ParsePrefix(blk); err == nil {
			if _, ok := want[blk]; !ok {
				w.same = appendMissing(w.same, store.BlockKey(p.String()))
			}
		}
	}
	switch {
	case len(want) == 0 && rev > 0:
		w.add(store.Op{Key: key, Delete: true, ModRevision: rev})
	case len(want) == 0:
		w.same = append(w.same, store.KV{Key: key})
	default:
		w.add(store.Op{Key: key, Value: mustJSON(&Handle{Block: want}), ModRevision: rev})
	}
	return w, nil
}

// appendMissing adds a must-not-exist compare unless the key is already compared.
func appendMissing(kvs []store.KV, key string) []store.KV {
	for _, kv := range kvs {
		if kv.Key == key {
			return kvs
		}
	}
	return append(kvs, store.KV{Key: key})
}

func (a *Allocator) dropStaleAffinity(ctx context.Context, s *scan, sa StaleAffinity) error {
	for _, af := range s.affs {
		if af.Host != sa.Host || af.CIDR.String() != sa.Block {
			continue
		}
		w := &write{}
		w.add(store.Op{Key: af.KV.Key, Delete: true, ModRevision: af.KV.ModRevision})
		if br, ok := s.blocks[af.CIDR]; ok {
			w.same = append(w.same, br.KV)
		} else {
			w.same = append(w.same, store.KV{Key: store.BlockKey(af.CIDR.String())})
		}
		err := a.commit(ctx, w)
		if err != nil && !isConflict(err) {
			return err
		}
	}
	return nil
}
