package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// SetAdvertisements makes the set of locally originated prefixes equal to desired. New or
// changed prefixes are added first (AddPath replaces an existing path for the same prefix),
// then gone ones are withdrawn one by one (a DeletePath without a path would wipe every
// local route). Each call propagates to peers at once, so in this order a prefix replaced by
// one covering the same addresses (a block re-sized, an aggregate) is never missing on the
// far side in between.
func (s *Speaker) SetAdvertisements(ctx context.Context, desired []Advertisement) error {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()

	var errs []error
	want := make(map[netip.Prefix]Advertisement, len(desired))
	for _, a := range desired {
		a.Prefix = a.Prefix.Masked()
		if !a.Prefix.IsValid() {
			errs = append(errs, errors.New("prefix: not a valid CIDR"))
			continue
		}
		if a.NextHop.IsValid() && a.NextHop.Is4() != a.Prefix.Addr().Is4() {
			errs = append(errs, fmt.Errorf("prefix %s: nextHop %s is of another address family", a.Prefix, a.NextHop))
			continue
		}
		want[a.Prefix] = a
	}
	for _, pfx := range sortedPrefixes(want) {
		a := want[pfx]
		if old, ok := s.adverts[pfx]; ok && old == a {
			continue
		}
		if err := s.originate(ctx, a); err != nil {
			errs = append(errs, err)
			continue
		}
		s.adverts[pfx] = a
	}
	for _, pfx := range sortedPrefixes(s.adverts) {
		if _, keep := want[pfx]; keep {
			continue
		}
		if err := s.withdraw(ctx, pfx); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.adverts, pfx)
	}
	return errors.Join(errs...)
}

// Advertisements returns what is currently originated.
func (s *Speaker) Advertisements() []Advertisement {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	out := make([]Advertisement, 0, len(s.adverts))
	for _, p := range sortedPrefixes(s.adverts) {
		out = append(out, s.adverts[p])
	}
	return out
}

func (s *Speaker) originate(ctx context.Context, a Advertisement) error {
	path, err := apiPath(a, false)
	if err != nil {
		return err
	}
	if _, err := s.srv.AddPath(ctx, &api.AddPathRequest{Path: path}); err != nil {
		return fmt.Errorf("advertise %s: %w", a.Prefix, err)
	}
	return nil
}

func (s *Speaker) withdraw(ctx context.Context, pfx netip.Prefix) error {
	path, err := apiPath(Advertisement{Prefix: pfx}, true)
	if err != nil {
		return err
	}
	// IsWithdraw on the path, not just the delete call, or GoBGP asks for a next hop.
	if err := s.srv.DeletePath(ctx, &api.DeletePathRequest{Family: path.Family, Path: path}); err != nil {
		return fmt.Errorf("withdraw %s: %w", pfx, err)
	}
	return nil
}

// apiPath builds an IGP-origin path. An unspecified next hop (0.0.0.0 or ::) means "self":
// GoBGP substitutes the session's local address towards iBGP and eBGP peers alike.
func apiPath(a Advertisement, withdraw bool) (*api.Path, error) {
	fam, nh := familyV4, "0.0.0.0"
	if a.Prefix.Addr().Is6() {
		fam, nh = familyV6, "::"
	}
	if a.NextHop.IsValid() {
		nh = a.NextHop.String()
	}
	nlri, err := anypb.New(&api.IPAddressPrefix{Prefix: a.Prefix.Addr().String(), PrefixLen: uint32(a.Prefix.Bits())})
	if err != nil {
		return nil, err
	}
	attrs := []proto.Message{&api.OriginAttribute{Origin: 0}}
	if fam == familyV4 {
		attrs = append(attrs, &api.NextHopAttribute{NextHop: nh})
	} else {
		attrs = append(attrs, &api.MpReachNLRIAttribute{Family: fam, NextHops: []string{nh}, Nlris: []*anypb.Any{nlri}})
	}
	pattrs := make([]*anypb.Any, 0, len(attrs))
	for _, m := range attrs {
		x, err := anypb.New(m)
		if err != nil {
			return nil, err
		}
		pattrs = append(pattrs, x)
	}
	return &api.Path{Family: fam, Nlri: nlri, Pattrs: pattrs, IsWithdraw: withdraw}, nil
}

func sortedPrefixes[V any](m map[netip.Prefix]V) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Addr().Compare(out[j].Addr()); c != 0 {
			return c < 0
		}
		return out[i].Bits() < out[j].Bits()
	})
	return out
}
