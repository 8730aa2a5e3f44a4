package dataplane

import (
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The route table's bookkeeping of recursive routes (see resolve.go). Each next hop is
// resolved once however many routes go through it; its resolution is kept until a route or
// link event under it, a resync, or the last route through it going away. A route whose next
// hop is not resolved yet has no desired kernel shape: apply resolves pending next hops
// before it compares anything, so a route already in the kernel is never deleted meanwhile.

// recRoute is what a recursive route needs besides its destination (kept small: one per
// learned block).
type recRoute struct {
	gw      netip.Addr // the BGP next hop
	fromBGP bool
}

// recursiveState is embedded in routeTable.
type recursiveState struct {
	recursive map[netip.Prefix]recRoute // desired routes with a recursive next hop
	nhRefs    map[netip.Addr]int        // next hop -> routes through it
	nhRes     map[netip.Addr]resolution // last resolution of each next hop in nhRefs
	nhDirty   map[netip.Addr]struct{}   // resolve again on the next apply
	nhAll     bool                      // resolve every next hop on the next apply
	nhSorted  []netip.Addr              // nhRefs' keys, sorted; nil when they changed
}

func (t *routeTable) resetRecursive() {
	t.recursive, t.nhRefs = map[netip.Prefix]recRoute{}, map[netip.Addr]int{}
	if t.nhRes == nil {
		t.nhRes, t.nhDirty = map[netip.Addr]resolution{}, map[netip.Addr]struct{}{}
	}
	t.nhSorted = nil
}

// pruneNexthops forgets resolutions no desired route needs (after a full set).
func (t *routeTable) pruneNexthops() {
	for nh := range t.nhRes {
		if t.nhRefs[nh] == 0 {
			delete(t.nhRes, nh)
		}
	}
}

func (t *routeTable) refNexthop(nh netip.Addr) {
	if t.nhRefs[nh]++; t.nhRefs[nh] == 1 {
		t.nhSorted = nil
	}
}

// forgetRecursive drops dst's claim on its next hop, if it had one.
func (t *routeTable) forgetRecursive(dst netip.Prefix) {
	old, ok := t.recursive[dst]
	if !ok {
		return
	}
	delete(t.recursive, dst)
	if t.nhRefs[old.gw]--; t.nhRefs[old.gw] <= 0 {
		delete(t.nhRefs, old.gw)
		delete(t.nhRes, old.gw)
		delete(t.nhDirty, old.gw)
		t.nhSorted = nil
	}
}

// putRecursive records r (its next hop already referenced) and gives it its kernel shape
// if the next hop's resolution is known.
func (t *routeTable) putRecursive(cr calc.Route) {
	r := recRoute{gw: cr.Gw, fromBGP: cr.FromBGP}
	t.recursive[cr.Dst] = r
	if res, ok := t.nhRes[r.gw]; ok {
		t.place(cr.Dst, r, res)
		return
	}
	t.nhDirty[r.gw] = struct{}{}
	t.delDesired(cr.Dst)
}

// place sets r's desired kernel route from its next hop's resolution; an unresolvable next
// hop means no route (BIRD keeps such a route unreachable and out of the kernel).
func (t *routeTable) place(dst netip.Prefix, r recRoute, res resolution) {
	t.dirty[dst] = struct{}{}
	if res.err != "" {
		t.delDesired(dst)
		return
	}
	k := kroute{typ: unix.RTN_UNICAST, proto: ProtoBrindle, gw: res.gw, link: res.link, onlink: res.onlink}
	if r.fromBGP {
		k.proto = ProtoBGP
	}
	t.setDesired(dst, k)
}

// resolvePending resolves the next hops marked for it, in one batch, and re-places the
// routes of those whose resolution changed.
func (t *routeTable) resolvePending(w *nlWriter) error {
	var todo []netip.Addr
	for nh := range t.nhRefs {
		if _, dirty := t.nhDirty[nh]; dirty || t.nhAll {
			todo = append(todo, nh)
		}
	}
	t.nhAll = false
	clear(t.nhDirty)
	if len(todo) == 0 {
		return nil
	}
	got, err := t.lookup(w, todo)
	if err != nil {
		for _, nh := range todo {
			t.nhDirty[nh] = struct{}{}
		}
		return err
	}
	changed := map[netip.Addr]struct{}{}
	for nh, res := range got {
		old, had := t.nhRes[nh]
		if had && old == res {
			continue
		}
		t.nhRes[nh] = res
		changed[nh] = struct{}{}
		t.report(nh, old, had, res)
	}
	if len(changed) == 0 {
		return nil
	}
	for dst, r := range t.recursive {
		if _, ok := changed[r.gw]; ok {
			t.place(dst, r, t.nhRes[r.gw])
		}
	}
	return nil
}

// report logs a next hop's resolution when it changes: an unresolvable one once per reason,
// not on every apply.
func (t *routeTable) report(nh netip.Addr, old resolution, had bool, res resolution) {
	n := zap.Int("routes", t.nhRefs[nh])
	switch {
	case res.err != "":
		if !had || old.err != res.err {
			t.log.Warn("BGP next hop cannot be resolved through the kernel's routes; routes through it are not programmed",
				zap.Stringer("nextHop", nh), zap.String("reason", res.err), n)
		}
	case had && old.err != "":
		t.log.Info("BGP next hop resolved again", zap.Stringer("nextHop", nh), zap.String("via", res.via), n)
	case had:
		t.log.Info("BGP next hop resolves through another route", zap.Stringer("nextHop", nh),
			zap.String("via", res.via), zap.String("before", old.via), n)
	default:
		if ce := t.log.Check(zap.DebugLevel, "BGP next hop resolved"); ce != nil {
			ce.Write(zap.Stringer("nextHop", nh), zap.String("via", res.via), n)
		}
	}
}

// nexthopsUnder marks the next hops inside a changed route's destination for resolving
// again and reports whether there were any.
func (t *routeTable) nexthopsUnder(r netlink.Route) bool {
	if len(t.nhRefs) == 0 || (r.Family != unix.AF_INET && r.Family != unix.AF_INET6) {
		return false
	}
	dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if r.Family == unix.AF_INET6 {
		dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	if r.Dst != nil {
		a, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok || a.Unmap().Is4() != (r.Family == unix.AF_INET) {
			return false
		}
		ones, _ := r.Dst.Mask.Size()
		dst = netip.PrefixFrom(a.Unmap(), ones).Masked()
	}
	if t.nhSorted == nil {
		t.nhSorted = make([]netip.Addr, 0, len(t.nhRefs))
		for nh := range t.nhRefs {
			t.nhSorted = append(t.nhSorted, nh)
		}
		slices.SortFunc(t.nhSorted, netip.Addr.Compare)
	}
	i, _ := slices.BinarySearchFunc(t.nhSorted, dst.Addr(), netip.Addr.Compare)
	found := false
	for ; i < len(t.nhSorted) && dst.Contains(t.nhSorted[i]); i++ {
		t.nhDirty[t.nhSorted[i]] = struct{}{}
		found = true
	}
	return found
}

// reresolveAll makes the next apply resolve every next hop again (a link changed: the
// kernel drops or revives routes through it without route events).
func (t *routeTable) reresolveAll() {
	t.mu.Lock()
	t.nhAll = true
	t.mu.Unlock()
}

// reasonOf is dst's reason, with the resolution of a recursive route, for logs.
func (t *routeTable) reasonOf(dst netip.Prefix) string {
	r, ok := t.recursive[dst]
	if !ok {
		return t.reasons[dst]
	}
	return t.reasons[dst] + "; next hop " + r.gw.String() + " through " + t.nhRes[r.gw].via
}

// Unresolved returns the BGP next hops the kernel's table cannot route, each with the
// reason; routes through them are not programmed until it can.
func (d *Dataplane) Unresolved() map[netip.Addr]string {
	t := d.routes
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[netip.Addr]string{}
	for nh, res := range t.nhRes {
		if res.err != "" {
			out[nh] = res.err
		}
	}
	return out
}
