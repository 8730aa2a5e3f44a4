package bgp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

func peerRow(s *bgp.Speaker, i int, net bgptest.Net) bgp.PeerStatus {
	for _, p := range s.Status().Peers {
		if p.Address == net.Addrs[i] {
			return p
		}
	}
	return bgp.PeerStatus{}
}

// TestMD5Password: two speakers with the same password. On a kernel with TCP MD5 the
// session comes up; on one without (this CI kernel) the peer is held, never run without its
// password, and status says why. Dropping the password on both ends then brings the
// session up, and held peers that are no longer wanted leave status.
func TestMD5Password(t *testing.T) {
	net, sp := startMesh(t, 2)
	bgptest.WaitFor(t, 30*time.Second, "session up", func() (bool, string) { return bgptest.Established(sp[0]) })
	for i, s := range sp {
		peers := net.MeshPeers(i, testAS)
		peers[0].Password = "s3cret"
		if err := s.SetPeers(ctx, peers); err != nil {
			t.Fatal(err)
		}
	}
	if why := bgp.MD5Unavailable(); why == "" {
		t.Log("kernel has TCP MD5: expecting an authenticated session")
		bgptest.WaitFor(t, 60*time.Second, "MD5 session up", func() (bool, string) { return bgptest.Established(sp[0]) })
	} else {
		t.Logf("kernel lacks TCP MD5 (%s): expecting held peers", why)
		for i, s := range sp {
			row := peerRow(s, 1-i, net)
			if row.State != "start" || !strings.Contains(row.Info, "Not started: ") || !strings.Contains(row.Info, "TCP_MD5SIG") {
				t.Fatalf("speaker %d: peer row %+v, want not started because of TCP_MD5SIG", i, row)
			}
			if len(s.Peers()) != 0 {
				t.Fatalf("speaker %d: held peer reached GoBGP: %v", i, s.Peers())
			}
		}
	}
	for i, s := range sp {
		if err := s.SetPeers(ctx, net.MeshPeers(i, testAS)); err != nil {
			t.Fatal(err)
		}
	}
	bgptest.WaitFor(t, 60*time.Second, "session up without password", func() (bool, string) { return bgptest.Established(sp[0]) })

	held := net.MeshPeers(0, testAS)
	held[0].Hold = "password: secret tor/pw: no such file"
	if err := sp[0].SetPeers(ctx, held); err != nil {
		t.Fatal(err)
	}
	if row := peerRow(sp[0], 1, net); row.Info != "Idle Not started: password: secret tor/pw: no such file" {
		t.Fatalf("held peer row %+v", row)
	}
	if err := sp[0].SetPeers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := sp[0].Status().Peers; len(got) != 0 {
		t.Fatalf("unwanted held peer still listed: %+v", got)
	}
}
