package nodebench

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/brindle-net/brindle/test/testbed"
)

// routeWatch records when each route destination of the pool's family first appeared in a namespace's main
// table, from a netlink subscription: the time a route became usable is the time the kernel
// announced it, not the time a poll happened to look. A lost message (receive buffer overrun)
// is counted, and the waits below then fall back to dumping the table.
type routeWatch struct {
	host *testbed.Host
	pool netip.Prefix // destinations counted by WaitCount
	done chan struct{}
	exit chan struct{}

	mu     sync.Mutex
	seen   map[netip.Prefix]time.Time
	inPool int       // distinct destinations seen inside pool
	last   time.Time // when the latest of them was first seen
	lost   int
	change chan struct{} // closed and replaced on every update
}

func watchRoutes(h *testbed.Host, pool netip.Prefix) (*routeWatch, error) {
	w := &routeWatch{host: h, pool: pool, done: make(chan struct{}), exit: make(chan struct{}),
		seen: map[netip.Prefix]time.Time{}, change: make(chan struct{})}
	ch := make(chan netlink.RouteUpdate, 4096)
	ns := h.NS
	err := netlink.RouteSubscribeWithOptions(ch, w.done, netlink.RouteSubscribeOptions{
		Namespace: &ns, ReceiveBufferSize: 32 << 20, ReceiveBufferForceSize: true,
		ErrorCallback: func(error) { w.mu.Lock(); w.lost++; w.mu.Unlock() },
	})
	if err != nil {
		return nil, fmt.Errorf("route subscription in %s: %w", h.Name, err)
	}
	go w.run(ch)
	return w, nil
}

func (w *routeWatch) run(ch <-chan netlink.RouteUpdate) {
	defer close(w.exit)
	for u := range ch {
		now := time.Now()
		if u.Type != unix.RTM_NEWROUTE || u.Dst == nil || u.Table != unix.RT_TABLE_MAIN {
			continue
		}
		a, ok := netip.AddrFromSlice(u.Dst.IP)
		if !ok || a.Unmap().Is4() != w.pool.Addr().Is4() {
			continue
		}
		ones, _ := u.Dst.Mask.Size()
		p := netip.PrefixFrom(a.Unmap(), ones)
		w.mu.Lock()
		if _, dup := w.seen[p]; !dup {
			w.seen[p] = now
			if w.pool.Contains(p.Addr()) {
				w.inPool++
				w.last = now
			}
		}
		close(w.change)
		w.change = make(chan struct{})
		w.mu.Unlock()
	}
}

// Close ends the subscription.
func (w *routeWatch) Close() {
	close(w.done)
	// The library closes ch once its receive loop notices done (after the next message or
	// error); do not wait for that, the goroutine ends with the channel.
}

// Reset forgets what was seen, so the next wait measures only new routes.
func (w *routeWatch) Reset() {
	w.mu.Lock()
	w.seen = map[netip.Prefix]time.Time{}
	w.inPool, w.last = 0, time.Time{}
	w.mu.Unlock()
}

// WaitFor waits until dst has been announced and returns the time of its announcement.
func (w *routeWatch) WaitFor(dst netip.Prefix, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		t, ok := w.seen[dst]
		change := w.change
		w.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-change:
		case <-deadline:
			return time.Time{}, fmt.Errorf("no route to %s in %s after %s", dst, w.host.Name, timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// WaitCount waits until n distinct destinations inside the pool have been announced (since
// the last Reset) and returns the time of the n-th. When the subscription lost messages, it
// polls the table instead and returns the time of the poll that first saw n.
func (w *routeWatch) WaitCount(n int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		count, last, lost, change := w.inPool, w.last, w.lost, w.change
		w.mu.Unlock()
		if count >= n {
			return last, nil
		}
		if lost > 0 {
			if got, err := countRoutes(w.host, w.pool); err == nil && got >= n {
				return time.Now(), nil
			}
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d of %d routes in %s announced in %s (lost %d messages)", count, n, w.host.Name, timeout, lost)
		}
		select {
		case <-change:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Lost is how many subscription errors (overruns) happened.
func (w *routeWatch) Lost() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lost
}

// countRoutes dumps the main table and counts routes with a destination inside within.
func countRoutes(h *testbed.Host, within netip.Prefix) (int, error) {
	fam := netlink.FAMILY_V4
	if within.Addr().Is6() {
		fam = netlink.FAMILY_V6
	}
	rs, err := h.NL.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(r.Dst.IP); ok && within.Contains(a.Unmap()) {
			n++
		}
	}
	return n, nil
}
