package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// register creates this host's Node resource or updates its BGP address, keeping every other
// field (labels, AS, route-reflector cluster ID, tunnel addresses) as the user or IPAM set it.
// It is a compare-and-swap loop: an administrator labelling the node at the same moment wins
// or loses cleanly, and nothing is overwritten blindly.
//
// An invalid ipv6 leaves spec.bgp.ipv6Address as it is (Calico's IP6=none).
func register(ctx context.Context, c *store.Client, name string, ipv4, ipv6 netip.Prefix, as uint32) (*api.Node, error) {
	for attempt := 0; attempt < 20; attempt++ {
		n, err := store.GetAs[*api.Node](ctx, c, "", name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			n = &api.Node{ObjectMeta: api.ObjectMeta{Name: name}}
			n.Spec.BGP = &api.NodeBGPSpec{IPv4Address: ipv4.String()}
			setIPv6(n, ipv6)
			setAS(n, as)
			_, err = c.Create(ctx, n)
			if errors.Is(err, store.ErrAlreadyExists) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("registering node %q: %w", name, err)
			}
			return n, nil
		case err != nil:
			return nil, fmt.Errorf("reading node %q: %w", name, err)
		}
		if n.Spec.BGP == nil {
			n.Spec.BGP = &api.NodeBGPSpec{}
		}
		if changed6 := setIPv6(n, ipv6); n.Spec.BGP.IPv4Address == ipv4.String() && !setAS(n, as) && !changed6 {
			return n, nil
		}
		n.Spec.BGP.IPv4Address = ipv4.String()
		if _, err = c.Update(ctx, n); errors.Is(err, store.ErrConflict) {
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
			continue
		} else if err != nil {
			return nil, fmt.Errorf("updating node %q: %w", name, err)
		}
		return n, nil
	}
	return nil, fmt.Errorf("updating node %q: too many concurrent modifications", name)
}

// setIPv6 sets bgp.ipv6Address when ipv6 is valid; it reports whether that changed it.
func setIPv6(n *api.Node, ipv6 netip.Prefix) bool {
	if !ipv6.IsValid() || n.Spec.BGP.IPv6Address == ipv6.String() {
		return false
	}
	n.Spec.BGP.IPv6Address = ipv6.String()
	return true
}

// setAS sets the node's AS number when --as was given; it reports whether that changed it.
func setAS(n *api.Node, as uint32) bool {
	if as == 0 || (n.Spec.BGP.ASNumber != nil && uint32(*n.Spec.BGP.ASNumber) == as) {
		return false
	}
	v := api.ASNumber(as)
	n.Spec.BGP.ASNumber = &v
	return true
}
