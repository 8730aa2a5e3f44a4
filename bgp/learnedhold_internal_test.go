package bgp

import (
	"net/netip"
	"testing"
	"time"
)

// A stale withdrawal is held for staleHold: a re-announcement within it cancels it (the
// prefix never looks withdrawn), and without one the prefix is withdrawn when it runs out.
func TestStaleWithdrawalHeld(t *testing.T) {
	defer func(d time.Duration) { staleHold = d }(staleHold)
	staleHold = 200 * time.Millisecond
	q := newLearnedQueue()
	p := netip.MustParsePrefix("10.65.2.0/26")
	r := Route{Prefix: p, NextHop: netip.MustParseAddr("192.0.2.2"), Peer: netip.MustParseAddr("192.0.2.1")}
	q.set(r)
	q.drain()

	q.holdStale(p)
	if got := q.snapshot(); len(got) != 1 || len(q.drain()) != 0 {
		t.Fatalf("held stale withdrawal: learned %v, want the route kept and nothing dirty", got)
	}
	q.set(r) // the reflector sent it again
	time.Sleep(3 * staleHold)
	if got := q.snapshot(); len(got) != 1 {
		t.Fatalf("re-announced within the hold: learned %v, want the route", got)
	}

	q.holdStale(p)
	time.Sleep(3 * staleHold)
	got := q.drain()
	if len(got) != 1 || !got[0].Withdrawn || len(q.snapshot()) != 0 {
		t.Fatalf("hold ran out: drained %v, learned %v; want the prefix withdrawn", got, q.snapshot())
	}

	q.set(r)
	q.set(Route{Prefix: p, Withdrawn: true}) // a fresh withdrawal is not held
	if got := q.snapshot(); len(got) != 0 {
		t.Fatalf("fresh withdrawal: learned %v, want none", got)
	}
}
