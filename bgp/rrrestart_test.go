package bgp_test

import (
	"os/exec"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

// A route reflector killed (no NOTIFICATION) and restarted: its clients keep the reflected
// routes as stale (graceful restart). GoBGP on the restarted reflector ends its update
// deferral as soon as the clients connected so far have sent End-of-RIB, counting clients
// that have not connected yet as done (pkg/server/peer.go recvedAllEOR), and sends its
// partial table with End-of-RIB to the early clients, which then drop the stale routes of
// the late ones until those reconnect: traffic between clients stops for that long. Here
// client B is configured on the new reflector 1.5 s after client A, the widest form of that
// race; client A must keep B's route throughout.
func TestRouteReflectorRestartKeepsLateClientsRoutes(t *testing.T) {
	const as = 64512
	net := bgptest.Loopback(t, 3) // 0 reflector, 1 client A, 2 client B
	rrPeer := func(j int) bgp.Peer {
		p := net.Peer(0, j, as, bgp.PeerNodeSpecific)
		p.RRClient, p.RRClusterID = true, "1.1.1.1"
		return p
	}
	rr := bgptest.StartSpeaker(t, net, 0, bgptest.Options{AS: as, Verbose: testing.Verbose()})
	if err := rr.SetPeers(ctx, []bgp.Peer{rrPeer(1), rrPeer(2)}); err != nil {
		t.Fatal(err)
	}
	clients := make([]*bgp.Speaker, 3)
	for i := 1; i <= 2; i++ {
		clients[i] = bgptest.StartSpeaker(t, net, i, bgptest.Options{AS: as})
		if err := clients[i].SetPeers(ctx, []bgp.Peer{net.Peer(i, 0, as, bgp.PeerNodeSpecific)}); err != nil {
			t.Fatal(err)
		}
		if err := clients[i].SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: blockOf(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	a := clients[1]
	bgptest.WaitFor(t, 30*time.Second, "A learns B's block via the reflector", func() (bool, string) {
		return bgptest.HasRoute(a, blockOf(2), net.Addrs[2])
	})

	killSpeaker(t, rr)
	bgptest.WaitFor(t, 20*time.Second, "A to see the reflector go", func() (bool, string) {
		ok, msg := bgptest.Established(a)
		return !ok, msg
	})
	rr2 := bgptest.StartSpeaker(t, net, 0, bgptest.Options{AS: as, Restarting: true, Verbose: testing.Verbose()})
	if err := rr2.SetPeers(ctx, []bgp.Peer{rrPeer(1)}); err != nil {
		t.Fatal(err)
	}
	watch := func(until func() bool, what string) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		for !until() {
			if ok, msg := bgptest.HasRoute(a, blockOf(2), net.Addrs[2]); !ok {
				t.Fatalf("%s: A lost B's route: %s", what, msg)
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out: %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	var upAt time.Time
	watch(func() bool {
		ok, _ := bgptest.Established(a)
		if ok && upAt.IsZero() {
			upAt = time.Now()
		}
		return ok && time.Since(upAt) > 1500*time.Millisecond
	}, "A's session to the restarted reflector, 1.5 s before B's")
	if err := rr2.SetPeers(ctx, []bgp.Peer{rrPeer(1), rrPeer(2)}); err != nil {
		t.Fatal(err)
	}
	watch(func() bool { ok, _ := bgptest.Established(rr2); return ok }, "B's session to the restarted reflector")
	time.Sleep(time.Second)
	watch(func() bool { return true }, "after B is back")
}

// killSpeaker stops s as SIGKILL would: the kernel aborts its sessions (ss -K, a RST to each
// peer), then its server stops with no session left to send a NOTIFICATION on.
func killSpeaker(t *testing.T, s *bgp.Speaker) {
	t.Helper()
	s.Close()
	if out, err := exec.Command("ss", "-K", "src", s.RouterID().String()).CombinedOutput(); err != nil {
		t.Fatalf("ss -K: %v\n%s", err, out)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// The hold above is only for End-of-RIB: a peer that is down with its routes kept as stale
// and then deconfigured (`brindle delete node`) takes its routes with it at once.
func TestDeconfiguredRestartingPeerWithdrawsAtOnce(t *testing.T) {
	const as = 64512
	net := bgptest.Loopback(t, 2)
	sp := make([]*bgp.Speaker, 2)
	for i := range sp {
		sp[i] = bgptest.StartSpeaker(t, net, i, bgptest.Options{AS: as})
		if err := sp[i].SetPeers(ctx, net.MeshPeers(i, as)); err != nil {
			t.Fatal(err)
		}
		if err := sp[i].SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: blockOf(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	bgptest.WaitFor(t, 30*time.Second, "0 learns 1's block", func() (bool, string) {
		return bgptest.HasRoute(sp[0], blockOf(1), net.Addrs[1])
	})
	killSpeaker(t, sp[1])
	bgptest.WaitFor(t, 20*time.Second, "0 to see 1 go", func() (bool, string) {
		ok, msg := bgptest.Established(sp[0])
		return !ok, msg
	})
	if ok, msg := bgptest.HasRoute(sp[0], blockOf(1), net.Addrs[1]); !ok {
		t.Fatalf("graceful restart should keep 1's route while it is away: %s", msg)
	}
	if err := sp[0].SetPeers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	bgptest.WaitFor(t, 3*time.Second, "1's route to go with its peer", func() (bool, string) {
		return bgptest.LacksRoute(sp[0], blockOf(1))
	})
}
