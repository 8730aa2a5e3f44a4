package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	api "github.com/osrg/gobgp/v3/api"
	"go.uber.org/zap"
)

// SetPeers makes GoBGP's neighbours equal to desired. Only peers that were added, removed or
// changed are touched, so one peer's change never resets another session. Invalid or
// duplicate peers are skipped and reported in the returned error; the rest are applied.
func (s *Speaker) SetPeers(ctx context.Context, desired []Peer) error {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()

	var errs []error
	want := make(map[netip.Addr]Peer, len(desired))
	for _, p := range desired {
		if err := p.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := want[p.Address]; dup {
			// GoBGP keys neighbours by address only, so ip:port pairs sharing an IP collide.
			errs = append(errs, fmt.Errorf("peer %s: duplicate address (already %s); skipped", p, prev))
			continue
		}
		want[p.Address] = p
	}

	for _, addr := range sortedAddrs(s.peers) {
		if _, keep := want[addr]; keep {
			continue
		}
		if err := s.deletePeer(ctx, addr); err != nil {
			errs = append(errs, err)
		}
	}
	for _, addr := range sortedAddrs(s.held) {
		if _, keep := want[addr]; !keep {
			delete(s.held, addr)
			s.status.remove(addr)
		}
	}
	for _, addr := range sortedAddrs(want) {
		p := withMD5Check(want[addr])
		old, exists := s.peers[addr]
		var err error
		switch {
		case p.Hold != "":
			err = s.holdPeer(ctx, p)
		case !exists:
			delete(s.held, addr)
			err = s.addPeer(ctx, p)
		case sessionConfigEqual(old, p):
			s.peers[addr] = p // type (status only) may have changed
			s.status.setConfigured(p)
		case needsReadd(old, p):
			if err = s.deletePeer(ctx, addr); err == nil {
				err = s.addPeer(ctx, p)
			}
		default:
			err = s.updatePeer(ctx, p)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// addPeer registers the peer for status first: GoBGP's first state events can arrive
// before AddPeer returns.
func (s *Speaker) addPeer(ctx context.Context, p Peer) error {
	s.status.setConfigured(p)
	if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.apiPeer(p)}); err != nil {
		s.status.remove(p.Address)
		return fmt.Errorf("add peer %s: %w", p, err)
	}
	s.log.Info("BGP peer added", zap.Stringer("peer", p), zap.Bool("passive", p.Passive), zap.Bool("rrClient", p.RRClient))
	s.peers[p.Address] = p
	return nil
}

// holdPeer keeps p out of GoBGP (removing it if it ran) and lists it in status with the
// reason, which is logged once per change.
func (s *Speaker) holdPeer(ctx context.Context, p Peer) error {
	if _, running := s.peers[p.Address]; running {
		if err := s.deletePeer(ctx, p.Address); err != nil {
			return err
		}
	}
	if prev, ok := s.held[p.Address]; !ok || prev.Hold != p.Hold {
		s.log.Warn("BGP peer not started", zap.Stringer("peer", p), zap.String("reason", p.Hold))
	}
	s.held[p.Address] = p
	s.status.setHeld(p)
	return nil
}

func (s *Speaker) updatePeer(ctx context.Context, p Peer) error {
	if _, err := s.srv.UpdatePeer(ctx, &api.UpdatePeerRequest{Peer: s.apiPeer(p)}); err != nil {
		return fmt.Errorf("update peer %s: %w", p, err)
	}
	s.log.Info("BGP peer updated", zap.Stringer("peer", p))
	s.peers[p.Address] = p
	s.status.setConfigured(p)
	return nil
}

func (s *Speaker) deletePeer(ctx context.Context, addr netip.Addr) error {
	if err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("delete peer %s: %w", addr, err)
	}
	s.log.Info("BGP peer removed", zap.Stringer("address", addr))
	delete(s.peers, addr)
	s.status.remove(addr)
	return nil
}

// Peers returns the peers as last applied.
func (s *Speaker) Peers() []Peer {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	out := make([]Peer, 0, len(s.peers))
	for _, a := range sortedAddrs(s.peers) {
		out = append(out, s.peers[a])
	}
	return out
}

func sortedAddrs[V any](m map[netip.Addr]V) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}
