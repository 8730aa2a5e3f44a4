package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// Automatic host endpoints, as Calico's kube-controllers writes them
// (kube-controllers/pkg/controllers/node/hostendpoints.go): one HostEndpoint "<node>-auto-hep"
// per node, interfaceName "*", expectedIPs from the Node, the Node's labels plus a created-by
// label, and the default-allow profile, so that creating it changes nothing until a policy
// selects it.
const (
	AutoHEPSuffix       = "-auto-hep"
	autoHEPCreatedKey   = "projectcalico.org/created-by"
	autoHEPCreatedValue = "brindle-node"
)

// autoHostEndpoint builds the host endpoint the Node should have.
func autoHostEndpoint(n *api.Node) *api.HostEndpoint {
	h := &api.HostEndpoint{}
	h.Name = n.Name + AutoHEPSuffix
	h.Labels = maps.Clone(map[string]string(n.Labels))
	if h.Labels == nil {
		h.Labels = map[string]string{}
	}
	h.Labels[autoHEPCreatedKey] = autoHEPCreatedValue
	h.Spec = api.HostEndpointSpec{Node: n.Name, InterfaceName: "*", Profiles: []string{"projectcalico-default-allow"}}
	add := func(s string) {
		if s == "" {
			return
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			p, err2 := netip.ParsePrefix(s)
			if err2 != nil {
				return
			}
			a = p.Addr()
		}
		if !slices.Contains(h.Spec.ExpectedIPs, a.String()) {
			h.Spec.ExpectedIPs = append(h.Spec.ExpectedIPs, a.String())
		}
	}
	if b := n.Spec.BGP; b != nil {
		add(b.IPv4Address)
		add(b.IPv6Address)
		add(b.IPv4IPIPTunnelAddr)
	}
	add(n.Spec.IPv4VXLANTunnelAddr)
	return h
}

// ensureAutoHostEndpoint creates or corrects the node's automatic host endpoint
// (compare-and-swap; a concurrent edit is retried against the new version).
func ensureAutoHostEndpoint(ctx context.Context, c *store.Client, node string) error {
	for attempt := 0; attempt < 20; attempt++ {
		n, err := store.GetAs[*api.Node](ctx, c, "", node)
		if err != nil {
			return fmt.Errorf("reading node %q: %w", node, err)
		}
		want := autoHostEndpoint(n)
		cur, err := store.GetAs[*api.HostEndpoint](ctx, c, "", want.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if _, err = c.Create(ctx, want); errors.Is(err, store.ErrAlreadyExists) {
				continue
			}
			return err
		case err != nil:
			return fmt.Errorf("reading host endpoint %q: %w", want.Name, err)
		}
		if maps.Equal(cur.Labels, want.Labels) && slices.Equal(cur.Spec.ExpectedIPs, want.Spec.ExpectedIPs) &&
			cur.Spec.InterfaceName == want.Spec.InterfaceName && cur.Spec.Node == want.Spec.Node {
			return nil
		}
		// Keep what a user added (profiles, ports); correct what the Node decides.
		cur.Labels, cur.Spec.ExpectedIPs, cur.Spec.InterfaceName, cur.Spec.Node = want.Labels, want.Spec.ExpectedIPs, want.Spec.InterfaceName, want.Spec.Node
		if _, err = c.Update(ctx, cur); errors.Is(err, store.ErrConflict) {
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
			continue
		}
		return err
	}
	return fmt.Errorf("host endpoint %q: too many concurrent modifications", node+AutoHEPSuffix)
}

// autoHEPLoop keeps the automatic host endpoint in step with the Node: kicked on start and
// whenever the Node changes; failures are retried.
func (a *Agent) autoHEPLoop(ctx context.Context, kick <-chan struct{}) {
	for {
		err := ensureAutoHostEndpoint(ctx, a.store, a.name)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("automatic host endpoint", zap.Error(err))
		}
		wait := time.Duration(1<<62 - 1)
		if err != nil {
			wait = 2 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-time.After(wait):
		}
	}
}
