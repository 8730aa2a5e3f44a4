package bgp_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

const testAS = 64512

var ctx = context.Background()

func blockOf(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 65, byte(i), 0}), 26)
}

// startMesh starts n speakers in a full mesh, each advertising block i.
func startMesh(t *testing.T, n int) (bgptest.Net, []*bgp.Speaker) {
	t.Helper()
	net := bgptest.Loopback(t, n)
	sp := make([]*bgp.Speaker, n)
	for i := range sp {
		sp[i] = bgptest.StartSpeaker(t, net, i, bgptest.Options{AS: testAS, Verbose: testing.Verbose()})
	}
	for i, s := range sp {
		if err := s.SetPeers(ctx, net.MeshPeers(i, testAS)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: blockOf(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	return net, sp
}

func TestMeshLearnsAndWithdraws(t *testing.T) {
	net, sp := startMesh(t, 3)
	for i, s := range sp {
		for j := range sp {
			if i == j {
				continue
			}
			bgptest.WaitFor(t, 30*time.Second, "mesh route", func() (bool, string) {
				return bgptest.HasRoute(s, blockOf(j), net.Addrs[j])
			})
		}
		bgptest.WaitFor(t, 10*time.Second, "sessions up", func() (bool, string) { return bgptest.Established(s) })
	}
	// Nothing learned may be our own block: local paths are not "learned".
	for i, s := range sp {
		if ok, _ := bgptest.LacksRoute(s, blockOf(i)); !ok {
			t.Errorf("%s lists its own block as learned", net.Addrs[i])
		}
	}

	// The drain queue holds each prefix once, in its latest state.
	sp[1].DrainLearned()
	if err := sp[0].SetAdvertisements(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range sp[1:] {
		bgptest.WaitFor(t, 10*time.Second, "withdrawal", func() (bool, string) { return bgptest.LacksRoute(s, blockOf(0)) })
	}
	got := sp[1].DrainLearned()
	if len(got) != 1 || got[0].Prefix != blockOf(0) || !got[0].Withdrawn {
		t.Errorf("drain after withdrawal: got %v, want one withdrawal of %s", got, blockOf(0))
	}

	// Removing node 2 from node 1's peers drops what node 1 learned from it, and nothing else.
	if err := sp[1].SetPeers(ctx, []bgp.Peer{net.Peer(1, 0, testAS, bgp.PeerMesh)}); err != nil {
		t.Fatal(err)
	}
	bgptest.WaitFor(t, 10*time.Second, "routes of removed peer gone", func() (bool, string) { return bgptest.LacksRoute(sp[1], blockOf(2)) })
	if st := sp[1].Status(); len(st.Peers) != 1 || st.Peers[0].Address != net.Addrs[0] {
		t.Errorf("status after removal: %+v", st.Peers)
	}
}

func TestAdvertisementNextHopAndReplace(t *testing.T) {
	net, sp := startMesh(t, 2)
	bgptest.WaitFor(t, 30*time.Second, "mesh route", func() (bool, string) { return bgptest.HasRoute(sp[1], blockOf(0), net.Addrs[0]) })
	// An explicit next hop replaces the path in place.
	nh := netip.MustParseAddr("192.0.2.7")
	if err := sp[0].SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: blockOf(0), NextHop: nh}}); err != nil {
		t.Fatal(err)
	}
	bgptest.WaitFor(t, 10*time.Second, "new next hop", func() (bool, string) { return bgptest.HasRoute(sp[1], blockOf(0), nh) })
	// Bad input is refused with the field named, and valid entries still apply.
	err := sp[0].SetAdvertisements(ctx, []bgp.Advertisement{
		{Prefix: blockOf(0)},
		{Prefix: netip.MustParsePrefix("10.9.0.0/24"), NextHop: netip.MustParseAddr("fd00::1")},
	})
	if err == nil {
		t.Fatal("mixed-family next hop accepted")
	}
	t.Logf("refused as expected: %v", err)
	bgptest.WaitFor(t, 10*time.Second, "self next hop", func() (bool, string) { return bgptest.HasRoute(sp[1], blockOf(0), net.Addrs[0]) })
}
