package node

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/store"
)

// FuzzBGPPeers drives BGP peer derivation the way the agent does: Node, BGPPeer and
// BGPConfiguration JSON (as etcdctl could have written it) goes through the agent's cache
// into calc.ComputeBGP. Input is records separated by NUL, each a kind letter (N, P, C)
// then its JSON. Derivation must never panic, and every desired peer must be a usable
// session: a valid address that is not this node's own, an AS, no duplicate.
func FuzzBGPPeers(f *testing.F) {
	me := `N{"metadata":{"name":"me","labels":{"rr":"true"}},"spec":{"bgp":{"ipv4Address":"10.0.0.1/24","ipv6Address":"fd00::1/64","routeReflectorClusterID":"1.2.3.4"}}}`
	other := `N{"metadata":{"name":"b"},"spec":{"bgp":{"ipv4Address":"10.0.0.2/24","asNumber":65001}}}`
	for _, seed := range []string{
		me + "\x00" + other,
		me + "\x00" + other + "\x00" + `C{"metadata":{"name":"default"},"spec":{"nodeToNodeMeshEnabled":false,"asNumber":65000,"listenPort":1790}}`,
		me + "\x00" + `P{"metadata":{"name":"rr"},"spec":{"nodeSelector":"all()","peerSelector":"rr == 'true'"}}`,
		me + "\x00" + `P{"metadata":{"name":"ext"},"spec":{"node":"me","peerIP":"[fd00::9]:1179","asNumber":65002,"keepOriginalNextHop":true,"ttlSecurity":1}}`,
		me + "\x00" + `P{"metadata":{"name":"self"},"spec":{"peerIP":"10.0.0.1","asNumber":1}}` + "\x00" + `C{"metadata":{"name":"node.me"},"spec":{"listenPort":0}}`,
		`N{"metadata":{"name":"me"},"spec":{}}`,
	} {
		f.Add([]byte(seed))
	}
	kinds := map[byte]string{'N': "Node", 'P': "BGPPeer", 'C': "BGPConfiguration"}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newCache("me", true)
		for _, rec := range bytes.Split(data, []byte{0}) {
			if len(rec) == 0 {
				continue
			}
			k, ok := api.LookupKind(kinds[rec[0]])
			if !ok {
				continue
			}
			r := k.NewResource()
			if json.Unmarshal(rec[1:], r) != nil || r.GetObjectMeta().Name == "" {
				continue // the store skips these (store/decodecheck.go)
			}
			c.apply(store.Event{Type: store.Updated, Key: store.ResourceKey(k, "", r.GetObjectMeta().Name),
				Kind: k, Name: r.GetObjectMeta().Name, Resource: r})
		}
		in := c.bgpInput()
		d := calc.ComputeBGP(in)
		seen := map[netip.AddrPort]bool{}
		for _, p := range d.Peers {
			if !p.Address.IsValid() || p.AS == 0 {
				t.Fatalf("unusable peer %+v from %+v", p, in)
			}
			if p.Address == d.RouterID || p.Address == d.IPv6 {
				t.Fatalf("peer with itself %+v (router ID %s, IPv6 %s)", p, d.RouterID, d.IPv6)
			}
			ap := netip.AddrPortFrom(p.Address, p.Port)
			if seen[ap] {
				t.Fatalf("duplicate peer %s in %+v", ap, d.Peers)
			}
			seen[ap] = true
		}
	})
}
