package bgp

import (
	"fmt"
	"net/netip"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

var (
	familyV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

// birdMultihop is what BIRD's bare "multihop" means; Calico writes it for every explicit
// peer without ttlSecurity so that eBGP peers need not be on the same link.
const birdMultihop = 64

// deferralTime bounds how long a restarting speaker holds back updates while waiting for
// End-of-RIB from every peer (GoBGP waits for all of them, reachable or not; default 360 s).
const deferralTime = 30 * time.Second

func (p Peer) validate() error {
	if !p.Address.IsValid() {
		return fmt.Errorf("address: not a valid IP address")
	}
	if p.AS == 0 {
		return fmt.Errorf("peer %s: asNumber: must not be 0", p.Address)
	}
	if p.LocalAddress.IsValid() && p.LocalAddress.Is4() != p.Address.Is4() {
		return fmt.Errorf("peer %s: sourceAddress %s is of another address family", p.Address, p.LocalAddress)
	}
	if p.RRClient {
		if _, err := netip.ParseAddr(p.RRClusterID); err != nil {
			return fmt.Errorf("peer %s: routeReflectorClusterID %q is not an IPv4 address", p.Address, p.RRClusterID)
		}
	}
	return nil
}

// apiPeer builds GoBGP's neighbour config. Each session carries only the family of its
// address, as Calico's bird/bird6 split does: IPv6 blocks over an IPv4 session would need
// an explicit IPv6 next hop and GoBGP turns "::" into the IPv4 local address (gobgp.md §3).
// Graceful restart is on with mp-GR per family; without mp-GR the helper drops the family.
func (s *Speaker) apiPeer(p Peer) *api.Peer {
	fam := familyV4
	if p.Address.Is6() {
		fam = familyV6
	}
	restart := p.RestartTime
	if restart == 0 {
		restart = DefaultRestartTime
	}
	out := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.Address.String(),
			PeerAsn:         p.AS,
			AuthPassword:    p.Password,
		},
		Transport: &api.Transport{
			PassiveMode: p.Passive,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry: uint64(s.opts.ConnectRetry / time.Second),
			HoldTime:     uint64(s.opts.HoldTime / time.Second),
			// GoBGP waits 30 s after a reset before reconnecting; BIRD's "error wait time
			// 5,30" starts at 5.
			IdleHoldTimeAfterReset: 5,
		}},
		GracefulRestart: &api.GracefulRestart{
			Enabled:     true,
			RestartTime: uint32(restart / time.Second),
			// N-bit: a config-change reset (CEASE 6/6) is graceful on the far side, while
			// deconfiguring a peer (6/3) still withdraws at once.
			NotificationEnabled: true,
			DeferralTime:        uint32(deferralTime / time.Second),
			LocalRestarting:     s.localRestarting(),
		},
		AfiSafis: []*api.AfiSafi{{
			Config:            &api.AfiSafiConfig{Family: fam, Enabled: true},
			MpGracefulRestart: &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}},
		}},
	}
	if p.Port != 0 {
		out.Transport.RemotePort = uint32(p.Port)
	}
	if p.LocalAddress.IsValid() {
		out.Transport.LocalAddress = p.LocalAddress.String()
	}
	if p.TTLSecurity > 0 {
		out.TtlSecurity = &api.TtlSecurity{Enabled: true, TtlMin: uint32(256 - int(p.TTLSecurity))}
	} else if p.AS != s.opts.AS {
		out.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: birdMultihop}
	}
	if p.RRClient {
		out.RouteReflector = &api.RouteReflector{RouteReflectorClient: true, RouteReflectorClusterId: p.RRClusterID}
	}
	return out
}

// needsReadd reports a change GoBGP's UpdatePeer would store but not apply until the next
// reset (route-reflector settings, gobgp.md §2): such peers are deleted and added again.
func needsReadd(old, new Peer) bool {
	return old.RRClient != new.RRClient || old.RRClusterID != new.RRClusterID
}

// sessionConfigEqual compares what GoBGP sees; Type is status-only and never sent.
func sessionConfigEqual(a, b Peer) bool {
	a.Type, b.Type = "", ""
	return a == b
}

// localRestarting is true only for peers added during the first deferral period after a
// restart: a peer added hours later must not hold back its updates waiting for End-of-RIB.
func (s *Speaker) localRestarting() bool {
	return s.opts.Restarting && time.Since(s.started) < deferralTime
}
