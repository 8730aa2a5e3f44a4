package bgp

import (
	"context"
	"fmt"
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
)

// watch starts GoBGP's BEST and peer-state watchers. Their callbacks run on GoBGP's watcher
// goroutines and only update the learned queue and the status table.
func (s *Speaker) watch(ctx context.Context) error {
	best := &api.WatchEventRequest{Table: &api.WatchEventRequest_Table{
		Filters: []*api.WatchEventRequest_Table_Filter{{Type: api.WatchEventRequest_Table_Filter_BEST, Init: true}},
	}}
	err := s.srv.WatchEvent(ctx, best, func(r *api.WatchEventResponse) {
		if t := r.GetTable(); t != nil {
			s.onBest(t.Paths)
		}
	})
	if err != nil {
		return fmt.Errorf("watch best paths: %w", err)
	}
	peers := &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}
	err = s.srv.WatchEvent(ctx, peers, func(r *api.WatchEventResponse) {
		ev := r.GetPeer()
		if ev == nil || ev.Peer == nil || ev.Peer.Conf == nil || ev.Peer.State == nil {
			return
		}
		addr, err := netip.ParseAddr(ev.Peer.Conf.NeighborAddress)
		if err != nil {
			return
		}
		s.status.sessionState(addr, ev.Peer.State.SessionState)
	})
	if err != nil {
		return fmt.Errorf("watch peer state: %w", err)
	}
	return nil
}
