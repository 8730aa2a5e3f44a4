package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/brindle-net/brindle/calc"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Route protocols mark the routes brindle owns; anything else in the table is left alone.
// 80 is what Felix uses for the routes it programs itself (VXLAN, blackholes), so brindle
// uses it for every route derived from the datastore, workload routes included (Felix gives
// those the boot protocol, which we cannot claim without claiming the host's own routes).
// BGP-derived routes carry 12, iproute2's "bird", so `ip route` reads like a Calico node's.
const (
	ProtoBrindle = 80
	ProtoBGP     = unix.RTPROT_BIRD
)

func owned(proto int) bool { return proto == ProtoBrindle || proto == ProtoBGP }

// kroute is a main-table route reduced to the fields brindle decides. Routes are keyed by
// destination: brindle programs the default metric (0 for IPv4; the kernel gives IPv6
// routes 1024, IP6_RT_PRIO_USER) and TOS 0 only, and the kernel keys them the same.
type kroute struct {
	typ    int
	link   int
	gw     netip.Addr
	onlink bool
	scope  netlink.Scope
	proto  int
}

// ip6DefaultMetric is the metric the kernel gives an IPv6 route added without one.
const ip6DefaultMetric = 1024

func fromKernel(r netlink.Route) (netip.Prefix, kroute, bool) {
	if r.Dst == nil || r.Table != unix.RT_TABLE_MAIN || r.Tos != 0 || len(r.MultiPath) > 0 {
		return netip.Prefix{}, kroute{}, false
	}
	a, ok := netip.AddrFromSlice(r.Dst.IP)
	if !ok {
		return netip.Prefix{}, kroute{}, false
	}
	if v4 := len(r.Dst.IP) == net.IPv4len || a.Is4In6(); (v4 && r.Priority != 0) || (!v4 && r.Priority != ip6DefaultMetric) {
		return netip.Prefix{}, kroute{}, false
	}
	ones, _ := r.Dst.Mask.Size()
	k := kroute{typ: r.Type, link: r.LinkIndex, onlink: r.Flags&unix.RTNH_F_ONLINK != 0, scope: r.Scope, proto: int(r.Protocol)}
	if r.Type == unix.RTN_BLACKHOLE {
		k.link = 0 // the kernel reports lo as the device of a blackhole; it is not part of our intent
	}
	if g, ok := netip.AddrFromSlice(r.Gw); ok {
		k.gw = g.Unmap()
	}
	return netip.PrefixFrom(a.Unmap(), ones), k, true
}

// routeTable reconciles the main table. actual mirrors the kernel: filled by a dump when
// stale, kept current by our own writes and by route events. set() diffs the new desired
// list against the previous one and marks only changed destinations dirty, so one change
// among 10,000 routes costs a walk over two sorted slices and one netlink write.
type routeTable struct {
	mu      sync.Mutex
	h       *nsHandles
	log     *zap.Logger
	links   *linkIndex
	actual  map[netip.Prefix]kroute
	desired map[netip.Prefix]kroute
	reasons map[netip.Prefix]string
	waiting map[netip.Prefix]calc.Route // device not present yet
	prev    []calc.Route
	gen     int
	dirty   map[netip.Prefix]struct{}
	full    bool // compare everything on the next apply
	stale   bool // re-read the kernel on the next apply
	writes  int  // netlink writes done, for tests and benchmarks
	errs    []string
	seq     uint64 // calc.Delta.Seq of the list set last

	nhFrom int       // distinct gateways from which new writes use nexthop objects; <0 never
	probed bool      // nexthop support decided
	nh     *nexthops // nil: gateways go on the routes themselves
	refs   map[nhKey]int
	gcKeys map[nhKey]struct{} // contents whose last desired route went away

	recursiveState
}

func newRouteTable(h *nsHandles, links *linkIndex, log *zap.Logger, nhFrom int) *routeTable {
	if nhFrom == 0 {
		nhFrom = DefaultNexthopsFrom
	}
	t := &routeTable{h: h, log: log, links: links, stale: true, actual: map[netip.Prefix]kroute{},
		dirty: map[netip.Prefix]struct{}{}, refs: map[nhKey]int{}, gcKeys: map[nhKey]struct{}{}, nhFrom: nhFrom}
	t.resetRecursive()
	return t
}

func (t *routeTable) markStale() {
	t.mu.Lock()
	t.stale = true
	t.mu.Unlock()
}

// convert turns a calc route into kernel form; false when its device does not exist yet.
func (t *routeTable) convert(r calc.Route) (kroute, bool) {
	k := kroute{proto: ProtoBrindle}
	if r.FromBGP {
		k.proto = ProtoBGP
	}
	switch r.Kind {
	case calc.RouteBlackhole:
		k.typ = unix.RTN_BLACKHOLE
		return k, true
	case calc.RouteWorkload:
		if r.Dst.Addr().Is4() {
			k.scope = netlink.SCOPE_LINK // IPv6 routes have no scope: the kernel reports universe
		}
	case calc.RouteVia:
		k.gw, k.onlink = r.Gw, r.OnLink
	}
	k.typ = unix.RTN_UNICAST
	if r.Dev != "" {
		idx, ok := t.links.index(r.Dev)
		if !ok {
			return k, false
		}
		k.link = idx
	}
	return k, true
}

// put records one wanted route (or its wait for a device) and marks it dirty.
func (t *routeTable) put(r calc.Route) {
	t.dirty[r.Dst] = struct{}{}
	t.reasons[r.Dst] = r.Reason
	if r.Recursive {
		t.refNexthop(r.Gw) // before the old claim goes: the same next hop keeps its resolution
	}
	t.forgetRecursive(r.Dst)
	if r.Recursive {
		delete(t.waiting, r.Dst)
		t.putRecursive(r)
		return
	}
	if k, ok := t.convert(r); ok {
		t.setDesired(r.Dst, k)
		delete(t.waiting, r.Dst)
		return
	}
	t.delDesired(r.Dst)
	t.waiting[r.Dst] = r
}

func (t *routeTable) drop(dst netip.Prefix) {
	t.dirty[dst] = struct{}{}
	t.delDesired(dst)
	t.forgetRecursive(dst)
	delete(t.reasons, dst)
	delete(t.waiting, dst)
}

// set takes the complete desired list, sorted by destination as calc.Compute returns it,
// and not modified by the caller afterwards. Routes whose device does not exist yet (a
// workload interface being created, tunl0 on a kernel without ipip) wait and are retried on
// every set; they are reported as an error.
//
// With calc's delta relative to the list set last, only the destinations it names are
// looked at (a binary search each); otherwise the old and new lists are walked once.
func (t *routeTable) set(routes []calc.Route, delta *calc.Delta) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	byDst := func(a, b calc.Route) int { return comparePrefix(a.Dst, b.Dst) }
	gen := t.links.generation()
	seq := t.seq
	t.seq = 0
	if delta != nil {
		t.seq = delta.Seq
	}
	switch {
	case t.prev != nil && gen == t.gen && (sameSlice(t.prev, routes) || delta != nil && delta.Seq == seq):
		// The list set last: nothing to walk, only waiting routes to retry.
		for _, r := range t.waiting {
			t.put(r)
		}
	case t.prev != nil && gen == t.gen && delta != nil && !delta.Full && delta.Prev == seq && seq != 0:
		for _, dst := range delta.Routes {
			i, found := slices.BinarySearchFunc(routes, dst, func(r calc.Route, d netip.Prefix) int { return comparePrefix(r.Dst, d) })
			if found {
				t.put(routes[i])
			} else {
				t.drop(dst)
			}
		}
		for _, r := range t.waiting {
			t.put(r)
		}
	case t.prev == nil || gen != t.gen || !slices.IsSortedFunc(routes, byDst):
		t.desired = make(map[netip.Prefix]kroute, len(routes))
		t.refs = map[nhKey]int{}
		t.reasons = make(map[netip.Prefix]string, len(routes))
		t.waiting = map[netip.Prefix]calc.Route{}
		t.resetRecursive()
		for _, r := range routes {
			t.put(r)
		}
		t.pruneNexthops()
		t.full = true
	default:
		old, i, j := t.prev, 0, 0
		for i < len(old) || j < len(routes) {
			switch {
			case j == len(routes) || (i < len(old) && byDst(old[i], routes[j]) < 0):
				t.drop(old[i].Dst)
				i++
			case i == len(old) || byDst(old[i], routes[j]) > 0:
				t.put(routes[j])
				j++
			default:
				if old[i] != routes[j] {
					t.put(routes[j])
				}
				i, j = i+1, j+1
			}
		}
		for _, r := range t.waiting {
			t.put(r)
		}
	}
	t.prev, t.gen = routes, gen
	if t.links.generation() != gen {
		t.prev = nil // indexes moved while resolving: resolve everything on the next set
	}
	if len(t.waiting) > 0 {
		var missing []string
		for dst, r := range t.waiting {
			missing = append(missing, dst.String()+" (dev "+r.Dev+")")
		}
		slices.Sort(missing)
		return fmt.Errorf("routes waiting for their device: %s", summarize(missing))
	}
	return nil
}

// sameSlice reports whether a and b are the same list in memory.
func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func (t *routeTable) resync() error {
	routes, err := dump("routes", func() ([]netlink.Route, error) {
		return t.h.nl.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	actual := make(map[netip.Prefix]kroute, len(routes))
	for _, r := range routes {
		if dst, k, ok := fromKernel(r); ok {
			actual[dst] = k
		}
	}
	t.actual = actual
	if err := t.resyncNexthops(); err != nil {
		return err
	}
	t.stale = false
	return nil
}

// apply writes the difference between desired and actual: replace what differs, delete what
// brindle owns and no longer wants. Routes not carrying brindle's protocols are only ever
// replaced when brindle wants their exact destination. Normally only dirty destinations
// are compared; after a resync or a full set, all of them.
func (t *routeTable) apply() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stale {
		if err := t.resync(); err != nil {
			return err
		}
		t.full = true
		t.nhAll = true // whatever happened unseen may have moved next hops too
	}
	w, err := t.h.writer()
	if err != nil {
		return err
	}
	if err := t.resolvePending(w); err != nil {
		t.stale = true
		return err
	}
	t.errs = t.errs[:0]
	if t.full {
		for dst := range t.desired {
			t.converge(w, dst)
		}
		for dst := range t.actual {
			if _, ok := t.desired[dst]; !ok {
				t.converge(w, dst)
			}
		}
	} else {
		for dst := range t.dirty {
			t.converge(w, dst)
		}
	}
	w.flush()
	t.collectNexthops(w)
	clear(t.dirty)
	t.full = false
	if len(t.errs) > 0 {
		// A failed write may mean our picture of the kernel is wrong; read it again next time.
		t.stale = true
		return fmt.Errorf("routes: %s", summarize(t.errs))
	}
	return nil
}

// converge queues the write that makes dst what brindle wants; the mirror is updated when
// the kernel acknowledges it.
func (t *routeTable) converge(w *nlWriter, dst netip.Prefix) {
	want, wanted := t.desired[dst]
	have, present := t.actual[dst]
	switch {
	case wanted && (!present || have != want):
		if present && !owned(have.proto) {
			t.log.Info("taking over route", zap.Stringer("dst", dst), zap.Int("oldProtocol", have.proto))
		}
		w.queue(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE, t.routeBody(w, dst, want), func(err error) {
			if err != nil {
				t.errs = append(t.errs, fmt.Sprintf("replace %s: %v", dst, err))
				return
			}
			t.actual[dst] = want
			t.writes++
			if ce := t.log.Check(zap.DebugLevel, "route programmed"); ce != nil {
				ce.Write(zap.Stringer("dst", dst), zap.String("reason", t.reasonOf(dst)))
			}
		})
	case !wanted && present && owned(have.proto):
		// Without gateway and device: a route through a nexthop object matches only a
		// request that names neither (or its nexthop id), and the destination, type,
		// scope and protocol identify the route anyway.
		del := have
		del.gw, del.link, del.onlink = netip.Addr{}, 0, false
		w.queue(unix.RTM_DELROUTE, 0, routeBody(dst, del, 0), func(err error) {
			if err != nil && !errors.Is(err, unix.ESRCH) {
				t.errs = append(t.errs, fmt.Sprintf("delete %s: %v", dst, err))
				return
			}
			delete(t.actual, dst)
			t.writes++
			t.log.Debug("route removed", zap.Stringer("dst", dst))
		})
	}
}

// observe applies a route event to actual and reports whether the kernel now differs from
// what brindle wants (someone deleted or changed one of our routes).
func (t *routeTable) observe(u netlink.RouteUpdate) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	moved := t.nexthopsUnder(u.Route) // the way to a BGP next hop may have changed
	dst, k, ok := fromKernel(u.Route)
	if !ok {
		return moved
	}
	if u.Type == unix.RTM_DELROUTE {
		// The key (table, destination, TOS 0, metric 0) is unique, so the route is gone.
		delete(t.actual, dst)
	} else {
		t.actual[dst] = k
	}
	want, wanted := t.desired[dst]
	have, present := t.actual[dst]
	drift := (wanted && (!present || have != want)) || (!wanted && present && owned(have.proto))
	if drift {
		t.dirty[dst] = struct{}{}
	}
	return drift || moved
}

func summarize(items []string) string {
	const show = 5
	if len(items) <= show {
		return fmt.Sprint(items)
	}
	return fmt.Sprintf("%v and %d more", items[:show], len(items)-show)
}
