package bgp_test

import (
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

func sinceOf(t *testing.T, s *bgp.Speaker, i int, net bgptest.Net) time.Time {
	t.Helper()
	for _, p := range s.Status().Peers {
		if p.Address == net.Addrs[i] {
			if p.State != "up" {
				t.Fatalf("%s: peer %s is %s (%s)", s.RouterID(), p.Address, p.State, p.Info)
			}
			return p.Since
		}
	}
	t.Fatalf("%s: no peer %s", s.RouterID(), net.Addrs[i])
	return time.Time{}
}

// Changing node 0's session to node 2 (a reset in GoBGP) and marking it a route-reflector
// client (delete and re-add) must leave the 0-1 and 1-2 sessions and their routes alone.
func TestPeerChangeLeavesOtherSessions(t *testing.T) {
	net, sp := startMesh(t, 3)
	for _, s := range sp {
		bgptest.WaitFor(t, 30*time.Second, "sessions up", func() (bool, string) { return bgptest.Established(s) })
	}
	for i, s := range sp {
		for j := range sp {
			if i != j {
				bgptest.WaitFor(t, 10*time.Second, "mesh route", func() (bool, string) { return bgptest.HasRoute(s, blockOf(j), net.Addrs[j]) })
			}
		}
	}
	since01, since10, since02 := sinceOf(t, sp[0], 1, net), sinceOf(t, sp[1], 0, net), sinceOf(t, sp[0], 2, net)
	sp[1].DrainLearned()

	peers := net.MeshPeers(0, testAS)
	peers[1].RestartTime = 30 * time.Second // GR config: GoBGP resets this session
	if err := sp[0].SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	peers[1].RRClient, peers[1].RRClusterID = true, "1.1.1.1" // needs delete + add
	if err := sp[0].SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	// Unchanged desired state: no call reaches GoBGP, nothing moves.
	if err := sp[0].SetPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	bgptest.WaitFor(t, 30*time.Second, "0-2 back up", func() (bool, string) { return bgptest.Established(sp[0]) })
	bgptest.WaitFor(t, 10*time.Second, "route over the changed session", func() (bool, string) { return bgptest.HasRoute(sp[2], blockOf(0), net.Addrs[0]) })

	if got := sinceOf(t, sp[0], 2, net); got.Equal(since02) {
		t.Errorf("session 0-2 was not re-established after its change (up since %v)", got)
	}
	if got := sinceOf(t, sp[0], 1, net); !got.Equal(since01) {
		t.Errorf("session 0-1 changed state at %v on node 0 (was up since %v)", got, since01)
	}
	if got := sinceOf(t, sp[1], 0, net); !got.Equal(since10) {
		t.Errorf("session 0-1 changed state at %v on node 1 (was up since %v)", got, since10)
	}
	for _, r := range sp[1].DrainLearned() {
		if r.Prefix == blockOf(0) {
			t.Errorf("node 1 saw node 0's block change: %v", r)
		}
	}
}
