package bgp

import (
	"github.com/brindle-net/brindle/calc"
)

// PeersFromCalc converts calc's desired peers; the fields line up one to one.
func PeersFromCalc(in []calc.BGPPeer) []Peer {
	out := make([]Peer, 0, len(in))
	for _, p := range in {
		out = append(out, Peer{
			Address: p.Address, Port: p.Port, AS: p.AS, Type: PeerType(p.Type), Passive: p.Passive,
			Password: p.Password, LocalAddress: p.LocalAddress, RestartTime: p.RestartTime,
			KeepOriginalNextHop: p.KeepOriginalNextHop, TTLSecurity: p.TTLSecurity,
			RRClient: p.RRClient, RRClusterID: p.RRClusterID, Hold: p.Hold,
		})
	}
	return out
}

// AdvertisementsFromCalc converts calc's advertisements (next hop "self").
func AdvertisementsFromCalc(in []calc.BGPAdvertisement) []Advertisement {
	out := make([]Advertisement, 0, len(in))
	for _, a := range in {
		out = append(out, Advertisement{Prefix: a.Prefix})
	}
	return out
}
