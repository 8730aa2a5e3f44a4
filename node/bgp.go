package node

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/calc"
	"go.uber.org/zap"
)

// syncBGP derives peers and advertisements from the cache and hands them to the speaker,
// (re)starting it when its identity (router id, AS, listen port) changed — e.g. when the
// seed's 03 manifest moves the cluster to AS 63400 while agents run.
func (a *Agent) syncBGP(ctx context.Context) error {
	want := calc.ComputeBGP(a.cache.bgpInput())
	for _, d := range want.Skipped {
		a.log.Debug("BGP peer skipped", zap.String("subject", d.Subject), zap.String("reason", d.Reason))
	}
	if !want.RouterID.IsValid() {
		return fmt.Errorf("BGP: node %s has no IPv4 address yet", a.name)
	}
	port := int32(want.ListenPort)
	if port == 0 {
		port = 179
	}
	// Sessions towards IPv6 peers run between IPv6 addresses, as Calico's bird6 does: the
	// speaker listens on the node's IPv6 address too (a change restarts it, like the others).
	listen := []netip.Addr{want.RouterID}
	if want.IPv6.IsValid() {
		listen = append(listen, want.IPv6)
	}
	key := fmt.Sprintf("%s/%d/%d/%s", want.RouterID, want.AS, port, want.IPv6)
	if a.speaker != nil && a.bgpKey != key {
		a.log.Info("BGP identity changed; restarting the speaker", zap.String("from", a.bgpKey), zap.String("to", key))
		_ = a.speaker.Shutdown(ctx)
		a.speaker = nil
		a.status.set(nil)
		a.cache.state.ReplaceLearnedRoutes(nil)
		a.markDataplane()
	}
	if a.speaker == nil {
		sp, err := a.startSpeaker(ctx, bgp.Options{
			RouterID: want.RouterID, AS: want.AS, ListenPort: port,
			ListenAddresses: listen,
			Logger:          a.log.Named("bgp"),
		})
		if err != nil {
			return fmt.Errorf("starting the BGP speaker: %w", err)
		}
		a.speaker, a.bgpKey = sp, key
		a.status.set(sp)
		a.log.Info("BGP speaker started", zap.Stringer("routerID", want.RouterID), zap.Uint32("as", want.AS), zap.Int32("port", port))
	}
	for _, p := range want.Peers {
		a.log.Debug("BGP peer wanted", zap.Stringer("peer", p.Address), zap.String("type", p.Type), zap.String("reason", p.Reason))
	}
	if err := a.speaker.SetPeers(ctx, bgp.PeersFromCalc(want.Peers)); err != nil {
		return fmt.Errorf("setting BGP peers: %w", err)
	}
	ads, skipped := calc.ComputeBGPAdvertisements(a.cache.exportInput())
	a.metrics.advertised(len(ads))
	for _, d := range skipped {
		a.log.Debug("prefix not advertised", zap.String("subject", d.Subject), zap.String("reason", d.Reason))
	}
	if err := a.speaker.SetAdvertisements(ctx, bgp.AdvertisementsFromCalc(ads)); err != nil {
		return fmt.Errorf("setting BGP advertisements: %w", err)
	}
	return nil
}

// statusSource lets the status socket follow the speaker across restarts.
type statusSource struct {
	mu sync.Mutex
	sp bgpSpeaker
	wg func(v6 bool) *bgpstatus.WireGuardStatus // set once at start, before the socket serves
}

// WireGuardStatus implements bgpstatus.WireGuardSource.
func (s *statusSource) WireGuardStatus(v6 bool) *bgpstatus.WireGuardStatus {
	if s.wg == nil {
		return nil
	}
	return s.wg(v6)
}

func (s *statusSource) set(sp bgpSpeaker) {
	s.mu.Lock()
	s.sp = sp
	s.mu.Unlock()
}

// Status implements bgpstatus.Source; with no speaker it reports no peers.
func (s *statusSource) Status() bgpstatus.Status {
	s.mu.Lock()
	sp := s.sp
	s.mu.Unlock()
	if sp == nil {
		return bgpstatus.Status{}
	}
	return sp.Status()
}

// peerCounts returns how many configured peers are Established, and how many there are.
// Peers held for their password are left out: they cannot come up, and the restart
// warm-up should not wait its full bound for them.
func (a *Agent) peerCounts() (established, configured int) {
	for _, p := range a.status.Status().Peers {
		if p.NotStarted {
			continue
		}
		configured++
		if p.Info == "Established" {
			established++
		}
	}
	return established, configured
}

// replaceLearned makes the speaker's table the whole truth (ends the restart warm-up).
func (a *Agent) replaceLearned() {
	var rs []calc.LearnedRoute
	for _, r := range a.speaker.LearnedRoutes() {
		if !r.Withdrawn {
			rs = append(rs, calc.LearnedRoute{Dst: r.Prefix, NextHop: r.NextHop})
		}
	}
	a.cache.state.ReplaceLearnedRoutes(rs)
	a.log.Info("BGP routes now follow the speaker", zap.Int("routes", len(rs)))
}
