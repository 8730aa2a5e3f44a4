package bgp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

// TestPeerDownReason: when a peer ends the session, the reason shown by `node status` is the
// NOTIFICATION GoBGP reports through its API (BMP), spelled as BIRD's info column does.
func TestPeerDownReason(t *testing.T) {
	net, sp := startMesh(t, 2)
	for _, s := range sp {
		bgptest.WaitFor(t, 30*time.Second, "sessions up", func() (bool, string) { return bgptest.Established(s) })
	}
	if err := sp[1].SetPeers(ctx, nil); err != nil { // node 1 deconfigures node 0: CEASE
		t.Fatal(err)
	}
	// With the N-bit negotiated, GoBGP turns Peer De-configured into a Hard Reset (RFC 8538),
	// without the original subcode in its data.
	const want = "Last down: Received: Hard reset"
	bgptest.WaitFor(t, 10*time.Second, "the reason on node 0", func() (bool, string) {
		st := sp[0].Status()
		if len(st.Peers) != 1 || st.Peers[0].Address != net.Addrs[1] {
			return false, "peers: " + strings.Join(infos(st), "; ")
		}
		return strings.Contains(st.Peers[0].Info, want), st.Peers[0].Info
	})
}

func infos(st bgp.Status) []string {
	var out []string
	for _, p := range st.Peers {
		out = append(out, p.Address.String()+" "+p.Info)
	}
	return out
}
