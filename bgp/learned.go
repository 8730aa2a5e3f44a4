package bgp

import (
	"net/netip"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// learnedQueue holds the current learned best path per prefix plus the set of prefixes that
// changed since the agent last drained it. GoBGP's watcher goroutine only records and
// signals; bursts for one prefix collapse into its latest state, and the agent does all
// kernel work from its own loop (a slow loop costs one map entry per prefix, not a backlog).
type learnedQueue struct {
	mu     sync.Mutex
	best   map[netip.Prefix]Route
	dirty  map[netip.Prefix]struct{}
	held   map[netip.Prefix]*time.Timer // stale withdrawals waiting out staleHold
	notify chan struct{}
}

// staleHold is how long a stale path dropped by graceful restart stays in the learned
// table. A restarted GoBGP route reflector ends its update deferral once the clients
// connected so far have sent End-of-RIB, counting clients that have not reconnected yet as
// done (gobgp v3 pkg/server/peer.go, recvedAllEOR skips peers whose capability it has not
// received), so the early clients get End-of-RIB without the late clients' routes and drop
// them as stale until those reconnect (RFC 4724 4.1 wants the deferral to wait for every
// peer, as BIRD does). Clients retry every 5 s (IdleHoldTimeAfterReset, ConnectRetry), so
// the late ones are back within 10 s; a stale route that is really gone lingers that much
// longer on top of the restart time it was kept for anyway. Only that case is held: a
// stale path dropped at the End-of-RIB of a peer whose session is up again. Stale paths of
// a peer that is down (restart time over, peer deconfigured: `brindle delete node`) and
// withdrawals of fresh paths (a reset without graceful restart, an UPDATE) go at once.
var staleHold = 10 * time.Second

func newLearnedQueue() *learnedQueue {
	return &learnedQueue{
		best:   map[netip.Prefix]Route{},
		dirty:  map[netip.Prefix]struct{}{},
		held:   map[netip.Prefix]*time.Timer{},
		notify: make(chan struct{}, 1),
	}
}

// holdStale withdraws the prefix's learned path after staleHold unless a newer event for
// it (set) comes first.
func (q *learnedQueue) holdStale(p netip.Prefix) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, had := q.best[p]; !had || q.held[p] != nil {
		return
	}
	var tm *time.Timer
	tm = time.AfterFunc(staleHold, func() {
		q.mu.Lock()
		if q.held[p] != tm {
			q.mu.Unlock()
			return // superseded by a newer event for p
		}
		delete(q.held, p)
		q.mu.Unlock()
		q.set(Route{Prefix: p, Withdrawn: true})
	})
	q.held[p] = tm
}

func (q *learnedQueue) set(r Route) {
	q.mu.Lock()
	if tm := q.held[r.Prefix]; tm != nil {
		tm.Stop()
		delete(q.held, r.Prefix)
	}
	old, had := q.best[r.Prefix]
	switch {
	case r.Withdrawn && !had:
		q.mu.Unlock()
		return
	case r.Withdrawn:
		delete(q.best, r.Prefix)
	case had && old == r:
		q.mu.Unlock()
		return
	default:
		q.best[r.Prefix] = r
	}
	q.dirty[r.Prefix] = struct{}{}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (q *learnedQueue) drain() []Route {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Route, 0, len(q.dirty))
	for _, p := range sortedPrefixes(q.dirty) {
		if r, ok := q.best[p]; ok {
			out = append(out, r)
		} else {
			out = append(out, Route{Prefix: p, Withdrawn: true})
		}
	}
	clear(q.dirty)
	return out
}

func (q *learnedQueue) snapshot() []Route {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Route, 0, len(q.best))
	for _, p := range sortedPrefixes(q.best) {
		out = append(out, q.best[p])
	}
	return out
}

// LearnedReady is signalled (capacity 1, never blocks GoBGP) when learned routes changed.
func (s *Speaker) LearnedReady() <-chan struct{} { return s.learned.notify }

// DrainLearned returns every prefix whose learned best path changed since the last call,
// each in its latest state (Withdrawn when no learned path is left), sorted by prefix.
func (s *Speaker) DrainLearned() []Route { return s.learned.drain() }

// LearnedRoutes returns all current learned best paths, for a full resync.
func (s *Speaker) LearnedRoutes() []Route { return s.learned.snapshot() }

// onBest handles one BEST event. A local path ("<nil>" neighbour) becoming best means no
// learned route applies any more, so it counts as a withdrawal of the learned one.
func (s *Speaker) onBest(paths []*api.Path) {
	for _, p := range paths {
		r, ok := routeFromPath(p)
		if !ok {
			continue
		}
		if p.NeighborIp == "<nil>" || p.NeighborIp == "" {
			r.Withdrawn = true
		}
		if from, err := netip.ParseAddr(p.NeighborIp); err == nil && r.Withdrawn && p.IsWithdraw && p.Stale && s.status.established(from) {
			// Dropped at the End-of-RIB of a peer back from a restart. Stale paths dropped
			// while the peer is down (its restart time ran out, it was deconfigured) go at once.
			s.learned.holdStale(r.Prefix)
			continue
		}
		s.learned.set(r)
	}
}

func routeFromPath(p *api.Path) (Route, bool) {
	var pfx api.IPAddressPrefix
	if p.Nlri == nil || p.Nlri.UnmarshalTo(&pfx) != nil {
		return Route{}, false
	}
	addr, err := netip.ParseAddr(pfx.Prefix)
	if err != nil {
		return Route{}, false
	}
	r := Route{Prefix: netip.PrefixFrom(addr, int(pfx.PrefixLen)).Masked(), Withdrawn: p.IsWithdraw}
	r.Peer, _ = netip.ParseAddr(p.NeighborIp)
	r.NextHop = nextHop(p)
	if !r.Withdrawn && !r.NextHop.IsValid() {
		return Route{}, false
	}
	if r.Withdrawn {
		r.NextHop, r.Peer = netip.Addr{}, netip.Addr{}
	}
	return r, true
}

func nextHop(p *api.Path) netip.Addr {
	for _, a := range p.Pattrs {
		var nh api.NextHopAttribute
		if a.UnmarshalTo(&nh) == nil {
			if ip, err := netip.ParseAddr(nh.NextHop); err == nil {
				return ip
			}
		}
		var mp api.MpReachNLRIAttribute
		if a.UnmarshalTo(&mp) == nil && len(mp.NextHops) > 0 {
			if ip, err := netip.ParseAddr(mp.NextHops[0]); err == nil {
				return ip
			}
		}
	}
	return netip.Addr{}
}
