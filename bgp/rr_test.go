package bgp_test

import (
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
	"github.com/brindle-net/brindle/calc"
)

// The seed's route-reflector layout, peers derived by calc exactly as the agent will:
// node 0 is the reflector (cluster ID 1.1.1.1), mesh off, AS 63400, BGPPeer nodeSelector
// all() with peerSelector route-reflector=="true".
func TestRouteReflectorSeedLayout(t *testing.T) {
	const as = 63400
	net := bgptest.Loopback(t, 4)
	names := []string{"master01", "node01", "node02", "node03"}
	in := calc.BGPInput{
		Peers:  []calc.BGPPeerSpec{{Name: "bgppeer-demo", NodeSelector: "all()", PeerSelector: `route-reflector=="true"`}},
		Global: calc.BGPConfig{NodeToNodeMeshEnabled: new(bool), ASNumber: as, ListenPort: net.Port},
	}
	for i, name := range names {
		n := calc.BGPNode{Name: name, IPv4: net.Addrs[i]}
		if i == 0 {
			n.RRClusterID, n.Labels = "1.1.1.1", map[string]string{"route-reflector": "true"}
		}
		in.Nodes = append(in.Nodes, n)
	}
	sp := make([]*bgp.Speaker, len(names))
	for i, name := range names {
		sp[i] = bgptest.StartSpeaker(t, net, i, bgptest.Options{AS: as, Verbose: testing.Verbose()})
		in.NodeName = name
		if err := sp[i].SetPeers(ctx, bgp.PeersFromCalc(calc.ComputeBGP(in).Peers)); err != nil {
			t.Fatal(err)
		}
		if err := sp[i].SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: blockOf(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Clients learn each other's blocks through the reflector with the originator's next
	// hop (reflection never rewrites it), and the reflector's own block.
	for i := 1; i < len(sp); i++ {
		for j := range sp {
			if i == j {
				continue
			}
			bgptest.WaitFor(t, 30*time.Second, "reflected route", func() (bool, string) {
				return bgptest.HasRoute(sp[i], blockOf(j), net.Addrs[j])
			})
		}
		st := sp[i].Status()
		if len(st.Peers) != 1 || st.Peers[0].Address != net.Addrs[0] || st.Peers[0].Type != bgp.PeerNodeSpecific {
			t.Errorf("client %s status: %+v, want only the reflector as node specific", names[i], st.Peers)
		}
	}
	st := sp[0].Status()
	if len(st.Peers) != 3 {
		t.Fatalf("reflector status: %+v, want 3 clients", st.Peers)
	}
	for _, p := range st.Peers {
		if p.Type != bgp.PeerNodeSpecific || p.State != "up" {
			t.Errorf("reflector row %+v, want node specific and up", p)
		}
	}
	// A client leaving withdraws its block from the other clients via the reflector.
	if err := sp[3].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		bgptest.WaitFor(t, 20*time.Second, "withdrawal via reflector", func() (bool, string) { return bgptest.LacksRoute(sp[i], blockOf(3)) })
	}
}
