package dataplane

import (
	"errors"
	"fmt"
	"net/netip"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The route table's use of nexthop objects (see nexthops.go): reference counts of the
// contents desired routes resolve to, creation ahead of the routes, and removal of objects
// no desired route needs once the routes have moved off them.

func (t *routeTable) setDesired(dst netip.Prefix, k kroute) {
	if old, ok := t.desired[dst]; ok {
		t.unref(old)
	}
	t.desired[dst] = k
	if usesNexthop(k) {
		t.refs[nhKeyOf(k)]++
	}
}

func (t *routeTable) delDesired(dst netip.Prefix) {
	if old, ok := t.desired[dst]; ok {
		t.unref(old)
		delete(t.desired, dst)
	}
}

func (t *routeTable) unref(k kroute) {
	if !usesNexthop(k) {
		return
	}
	key := nhKeyOf(k)
	if t.refs[key]--; t.refs[key] <= 0 {
		delete(t.refs, key)
		t.gcKeys[key] = struct{}{}
	}
}

// resyncNexthops reads the namespace's nexthop objects, deciding on the first call whether
// to use them at all.
func (t *routeTable) resyncNexthops() error {
	if t.nhFrom < 0 {
		return nil
	}
	if !t.probed {
		t.probed = true
		if !nexthopsSupported(t.h) {
			t.log.Info("routes carry their gateways directly: no nexthop objects or nexthop_compat_mode off")
			return nil
		}
		t.nh = &nexthops{}
	}
	if t.nh == nil {
		return nil
	}
	w, err := t.h.writer()
	if err != nil {
		return err
	}
	err = t.nh.resync(w)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
		t.log.Info("routes carry their gateways directly: the kernel has no nexthop objects", zap.Error(err))
		t.nh = nil
		return nil
	}
	return err
}

// routeBody encodes the route write for want, through a nexthop object when that pays.
// Routes written either way resolve alike and are compared alike, so a table may mix them
// (e.g. after the cluster grew past the threshold) without anything being rewritten.
func (t *routeTable) routeBody(w *nlWriter, dst netip.Prefix, want kroute) []byte {
	if t.nh == nil || !usesNexthop(want) || len(t.refs) < t.nhFrom {
		return routeBody(dst, want, 0)
	}
	id := t.nh.id(w, nhKeyOf(want), func(err error) {
		t.errs = append(t.errs, fmt.Sprintf("nexthop via %s: %v", want.gw, err))
	})
	return routeBody(dst, want, id)
}

// collectNexthops deletes brindle's nexthop objects that no desired route resolves to. It
// runs after the routes were written: deleting an object deletes the routes through it,
// and by then every route of ours has moved off it. After a failed route write it waits
// (the mirror is re-read first). Objects duplicating a wanted content are kept, since a
// route recognised on restart may go through either.
func (t *routeTable) collectNexthops(w *nlWriter) {
	if t.nh == nil || len(t.errs) > 0 {
		return
	}
	failed := func(id uint32) func(error) {
		return func(err error) { t.errs = append(t.errs, fmt.Sprintf("delete nexthop %d: %v", id, err)) }
	}
	if t.full {
		for id, k := range t.nh.ours {
			if t.refs[k] == 0 {
				t.nh.remove(w, id, failed(id))
			}
		}
	} else {
		for k := range t.gcKeys {
			if id, ok := t.nh.byKey[k]; ok && t.refs[k] == 0 {
				t.nh.remove(w, id, failed(id))
			}
		}
	}
	clear(t.gcKeys)
	w.flush()
}
