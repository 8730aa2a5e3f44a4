package calc

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func boolp(b bool) *bool { return &b }

// seedRR is the seed document's route-reflector layout: 01 labels master01 as the
// reflector with cluster ID 1.1.1.1, 02 peers every node with nodes labelled
// route-reflector=="true", 03 turns the mesh off with AS 63400.
func seedRR(nodeName string) BGPInput {
	return BGPInput{
		NodeName: nodeName,
		Nodes: []BGPNode{
			{Name: "master01", IPv4: ip("100.100.137.200"), RRClusterID: "1.1.1.1", Labels: map[string]string{"route-reflector": "true"}},
			{Name: "node01", IPv4: ip("100.100.137.201")},
			{Name: "node02", IPv4: ip("100.100.137.202")},
		},
		Peers:  []BGPPeerSpec{{Name: "bgppeer-demo", NodeSelector: "all()", PeerSelector: `route-reflector=="true"`}},
		Global: BGPConfig{NodeToNodeMeshEnabled: boolp(false), ASNumber: 63400},
	}
}

// peerLine is a compact rendering so tables read like calicoctl rows.
func peerLine(p BGPPeer) string {
	var b strings.Builder
	b.WriteString(p.Address.String())
	if p.Port != 0 {
		b.WriteString(":" + itoa(int(p.Port)))
	}
	b.WriteString(" AS" + itoa(int(p.AS)) + " " + p.Type)
	if p.Passive {
		b.WriteString(" passive")
	}
	if p.RRClient {
		b.WriteString(" rr-client/" + p.RRClusterID)
	}
	if p.LocalAddress.IsValid() {
		b.WriteString(" src=" + p.LocalAddress.String())
	}
	if p.Password != "" {
		b.WriteString(" pw=" + p.Password)
	}
	if p.RestartTime != 0 {
		b.WriteString(" restart=" + p.RestartTime.String())
	}
	if p.TTLSecurity != 0 {
		b.WriteString(" ttl=" + itoa(int(p.TTLSecurity)))
	}
	if p.KeepOriginalNextHop {
		b.WriteString(" keep-nh")
	}
	if p.Hold != "" {
		b.WriteString(" hold=" + p.Hold)
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func lines(ps []BGPPeer) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, peerLine(p))
	}
	return out
}

func TestComputeBGPPeers(t *testing.T) {
	three := []BGPNode{
		{Name: "a", IPv4: ip("10.0.0.9"), IPv6: ip("fd00::9")},
		{Name: "b", IPv4: ip("10.0.0.10"), IPv6: ip("fd00::10")},
		{Name: "c", IPv4: ip("10.0.0.11"), AS: 65001},
	}
	cases := []struct {
		name string
		in   BGPInput
		want []string
	}{
		{"seed RR: client peers only with the reflector", seedRR("node01"),
			[]string{"100.100.137.200 AS63400 node specific src=100.100.137.201"}},
		{"seed RR: other client", seedRR("node02"),
			[]string{"100.100.137.200 AS63400 node specific src=100.100.137.202"}},
		{"seed RR: reflector peers with every client as RR client", seedRR("master01"), []string{
			"100.100.137.201 AS63400 node specific passive rr-client/1.1.1.1 src=100.100.137.200",
			"100.100.137.202 AS63400 node specific passive rr-client/1.1.1.1 src=100.100.137.200",
		}},
		// "10.0.0.10" < "10.0.0.9" as strings: Calico compares strings, so must we, or the
		// two ends would disagree with a BIRD node.
		{"mesh, v4 and v6, passive by string compare", BGPInput{NodeName: "a", Nodes: three}, []string{
			"10.0.0.10 AS64512 node-to-node mesh src=10.0.0.9",
			"10.0.0.11 AS65001 node-to-node mesh src=10.0.0.9",
			"fd00::10 AS64512 node-to-node mesh src=fd00::9",
		}},
		{"mesh from the other end", BGPInput{NodeName: "b", Nodes: three, Global: BGPConfig{ListenPort: 179}}, []string{
			"10.0.0.9 AS64512 node-to-node mesh passive src=10.0.0.10",
			"10.0.0.11 AS65001 node-to-node mesh passive src=10.0.0.10",
			"fd00::9 AS64512 node-to-node mesh passive src=fd00::10",
		}},
		{"mesh password, restart time, node listen port", BGPInput{NodeName: "c", Nodes: three,
			Global:      BGPConfig{NodeMeshPassword: "s3", NodeMeshMaxRestartTime: 30 * time.Second, ASNumber: 65000},
			NodeConfigs: map[string]BGPConfig{"a": {ListenPort: 1790}}}, []string{
			"10.0.0.9:1790 AS65000 node-to-node mesh passive src=10.0.0.11 pw=s3 restart=30s",
			"10.0.0.10 AS65000 node-to-node mesh src=10.0.0.11 pw=s3 restart=30s",
		}},
		{"mesh skips route reflectors, reflector skips the mesh", BGPInput{NodeName: "a",
			Nodes: append(slices.Clone(three[:2]), BGPNode{Name: "c", IPv4: ip("10.0.0.11"), RRClusterID: "1.1.1.1"})}, []string{
			"10.0.0.10 AS64512 node-to-node mesh src=10.0.0.9",
			"fd00::10 AS64512 node-to-node mesh src=fd00::9",
		}},
		{"route reflector with mesh on has no mesh peers", BGPInput{NodeName: "c",
			Nodes: append(slices.Clone(three[:2]), BGPNode{Name: "c", IPv4: ip("10.0.0.11"), RRClusterID: "1.1.1.1"})}, []string{}},
		{"global external peer with port, ttl, keep next hop, no source", BGPInput{NodeName: "a", Nodes: three,
			Global: BGPConfig{NodeToNodeMeshEnabled: boolp(false)},
			Peers: []BGPPeerSpec{{Name: "tor", PeerIP: "192.0.2.1:1179", ASNumber: 65530, TTLSecurity: 1,
				KeepOriginalNextHop: true, SourceAddress: "None", Password: "pw", MaxRestartTime: time.Minute}}}, []string{
			"192.0.2.1:1179 AS65530 global pw=pw restart=1m0s ttl=1 keep-nh",
		}},
		{"unreadable passwords hold the peer and the mesh", BGPInput{NodeName: "c", Nodes: three[1:],
			Global: BGPConfig{NodeMeshPasswordProblem: "no secret mesh/pw"},
			Peers:  []BGPPeerSpec{{Name: "tor", PeerIP: "192.0.2.1", ASNumber: 65530, PasswordProblem: "no secret tor/pw"}}}, []string{
			"10.0.0.10 AS64512 node-to-node mesh src=10.0.0.11 hold=password: no secret mesh/pw",
			"192.0.2.1 AS65530 global src=10.0.0.11 hold=password: no secret tor/pw",
		}},
		{"node-specific dropped for a global peering to the same ip:port", BGPInput{NodeName: "a", Nodes: three,
			Global: BGPConfig{NodeToNodeMeshEnabled: boolp(false)},
			Peers: []BGPPeerSpec{
				{Name: "z-node", Node: "a", PeerIP: "192.0.2.1", ASNumber: 65531},
				{Name: "a-global", PeerIP: "192.0.2.1:179", ASNumber: 65530},
				{Name: "other-node", Node: "b", PeerIP: "192.0.2.2", ASNumber: 65530},
			}}, []string{
			"192.0.2.1 AS65530 global src=10.0.0.9",
		}},
		{"peerIP naming a Calico node: reverse peering on that node", BGPInput{NodeName: "b", Nodes: three,
			Global: BGPConfig{NodeToNodeMeshEnabled: boolp(false)},
			Peers:  []BGPPeerSpec{{Name: "to-b", Node: "a", PeerIP: "10.0.0.10"}}}, []string{
			"10.0.0.9 AS64512 node specific passive src=10.0.0.10",
		}},
		{"peerIP naming a Calico node: forward side", BGPInput{NodeName: "a", Nodes: three,
			Global: BGPConfig{NodeToNodeMeshEnabled: boolp(false)},
			Peers:  []BGPPeerSpec{{Name: "to-b", Node: "a", PeerIP: "10.0.0.10"}}}, []string{
			"10.0.0.10 AS64512 node specific src=10.0.0.9",
		}},
		{"explicit peering replaces the mesh session to that node", BGPInput{NodeName: "a", Nodes: three,
			Peers: []BGPPeerSpec{{Name: "to-b", Node: "a", PeerIP: "10.0.0.10", ASNumber: 64512, Password: "x"}}}, []string{
			"10.0.0.10 AS64512 node specific src=10.0.0.9 pw=x",
			"10.0.0.11 AS65001 node-to-node mesh src=10.0.0.9",
			"fd00::10 AS64512 node-to-node mesh src=fd00::9",
		}},
		{"no node resource yet", BGPInput{NodeName: "zz", Nodes: three}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := lines(ComputeBGP(tc.in).Peers)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("peers of %s:\n got  %q\n want %q", tc.in.NodeName, got, tc.want)
			}
			// Order of nodes and BGPPeers in the input must not matter.
			for range 5 {
				in := tc.in
				in.Nodes = shuffled(in.Nodes)
				in.Peers = shuffled(in.Peers)
				if again := lines(ComputeBGP(in).Peers); !reflect.DeepEqual(again, got) {
					t.Fatalf("shuffled input changed the result:\n%q\n%q", again, got)
				}
			}
		})
	}
}

func shuffled[T any](s []T) []T {
	out := slices.Clone(s)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Every session has two configured ends that agree on who connects.
func TestComputeBGPSymmetric(t *testing.T) {
	layouts := map[string]BGPInput{"seed RR": seedRR(""), "mesh": {Nodes: []BGPNode{
		{Name: "a", IPv4: ip("10.0.0.9")}, {Name: "b", IPv4: ip("10.0.0.10")}, {Name: "c", IPv4: ip("10.0.0.100")}}},
		"global peerSelector": {Global: BGPConfig{NodeToNodeMeshEnabled: boolp(false)},
			Nodes: []BGPNode{{Name: "a", IPv4: ip("10.0.0.1"), Labels: map[string]string{"edge": "y"}},
				{Name: "b", IPv4: ip("10.0.0.2")}, {Name: "c", IPv4: ip("10.0.0.3")}},
			Peers: []BGPPeerSpec{{Name: "edge", PeerSelector: "has(edge)"}}},
	}
	for name, in := range layouts {
		byAddr := map[netip.Addr]string{}
		for _, n := range in.Nodes {
			byAddr[n.IPv4] = n.Name
		}
		sessions := map[[2]string]BGPPeer{}
		for _, n := range in.Nodes {
			in.NodeName = n.Name
			for _, p := range ComputeBGP(in).Peers {
				sessions[[2]string{n.Name, byAddr[p.Address]}] = p
			}
		}
		for k, p := range sessions {
			back, ok := sessions[[2]string{k[1], k[0]}]
			if !ok {
				t.Errorf("%s: %s peers with %s but not the other way", name, k[0], k[1])
				continue
			}
			if p.Passive == back.Passive {
				t.Errorf("%s: %s-%s: both ends passive=%v", name, k[0], k[1], p.Passive)
			}
		}
		if len(sessions) == 0 {
			t.Errorf("%s: no sessions", name)
		}
	}
}

func TestComputeBGPBadInput(t *testing.T) {
	in := BGPInput{NodeName: "a", Nodes: []BGPNode{{Name: "a", IPv4: ip("10.0.0.1")}},
		Global: BGPConfig{NodeToNodeMeshEnabled: boolp(false)},
		Peers: []BGPPeerSpec{
			{Name: "bad-sel", NodeSelector: "all()", PeerSelector: "a ==="},
			{Name: "bad-ip", PeerIP: "10.0.0.300", ASNumber: 1},
			{Name: "no-as", PeerIP: "192.0.2.1"},
			{Name: "good", PeerIP: "192.0.2.2", ASNumber: 65000},
		}}
	d := ComputeBGP(in)
	if got := lines(d.Peers); !reflect.DeepEqual(got, []string{"192.0.2.2 AS65000 global src=10.0.0.1"}) {
		t.Errorf("peers: %q", got)
	}
	want := map[string]string{"BGPPeer bad-sel": "spec.peerSelector", "BGPPeer bad-ip": "spec.peerIP", "BGPPeer no-as": "spec.asNumber"}
	for _, s := range d.Skipped {
		if f, ok := want[s.Subject]; ok && strings.HasPrefix(s.Reason, f) {
			delete(want, s.Subject)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing skip decisions naming the field: %v (got %+v)", want, d.Skipped)
	}
}
