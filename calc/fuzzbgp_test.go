package calc

import (
	"encoding/json"
	"net/netip"
	"testing"
)

// FuzzComputeBGP derives peers from arbitrary nodes, BGPPeers and BGPConfigurations (the
// input as JSON: addresses, AS numbers, selectors, peer IPs with ports, listen ports). It
// must never panic, and every desired peer must be a usable session: a valid address that
// is not one of this node's own, an AS, and no address and port twice. Seeds: the seed
// documents' route-reflector layout and the shapes of bgppeers_test.go.
// node/fuzzbgp_test.go FuzzBGPPeers runs the same checks from Calico's JSON through the
// agent's cache (longer campaigns only: it builds the whole agent).
func FuzzComputeBGP(f *testing.F) {
	seeds := []BGPInput{seedRR("master01"), seedRR("node01"), {
		NodeName: "a",
		Nodes:    []BGPNode{{Name: "a", IPv4: ip("10.0.0.1"), IPv6: ip("fd00::1"), AS: 65001}, {Name: "b", IPv6: ip("fd00::2")}},
		Peers: []BGPPeerSpec{{Name: "ext", Node: "a", PeerIP: "[fd00::9]:1179", ASNumber: 65002, TTLSecurity: 1},
			{Name: "self", PeerIP: "10.0.0.1", ASNumber: 1}, {Name: "sel", NodeSelector: "has(x)", PeerSelector: "!has(x)"}},
		NodeConfigs: map[string]BGPConfig{"a": {ListenPort: 1790}},
	}}
	for _, s := range seeds {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in BGPInput
		if json.Unmarshal(data, &in) != nil {
			return
		}
		d := ComputeBGP(in)
		seen := map[netip.AddrPort]bool{}
		for _, p := range d.Peers {
			if !p.Address.IsValid() || p.AS == 0 {
				t.Fatalf("unusable peer %+v from %s", p, data)
			}
			if p.Address == d.RouterID || p.Address == d.IPv6 {
				t.Fatalf("peer with itself %+v (router ID %s, IPv6 %s) from %s", p, d.RouterID, d.IPv6, data)
			}
			ap := netip.AddrPortFrom(p.Address, p.Port)
			if seen[ap] {
				t.Fatalf("duplicate peer %s in %+v from %s", ap, d.Peers, data)
			}
			seen[ap] = true
		}
	})
}
