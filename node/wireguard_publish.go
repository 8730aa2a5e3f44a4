package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// kickWireguard asks both families' publishers to run.
func (a *Agent) kickWireguard() {
	a.wg.kick()
	a.wg6.kick()
}

// kick asks this family's publisher to run.
func (w *wgAgent) kick() {
	if w.publish == nil {
		return
	}
	select {
	case w.publish <- struct{}{}:
	default:
	}
}

// wireguardLoop publishes w's public key (a compare-and-swap update of the Node's status)
// and keeps its device address (spec.wireguard.interfaceIPv4Address or interfaceIPv6Address,
// allocated like a tunnel address while a key is published). Failures back off and are
// logged once.
func (a *Agent) wireguardLoop(ctx context.Context, w *wgAgent) {
	retryOnKick(ctx, w.publish, failureLog{log: a.log.With(zap.String("component", "wireguard-publish"),
		zap.String("family", w.fam.Name())), what: "publishing the WireGuard key"},
		func(ctx context.Context) error { return a.publishWireguard(ctx, w) })
}

func (a *Agent) publishWireguard(ctx context.Context, w *wgAgent) error {
	w.mu.Lock()
	want := w.pubKey
	w.mu.Unlock()
	if err := setNodeWireguardKey(ctx, a.store, a.name, w.fam.IPv6, want); err != nil {
		return err
	}
	if want != w.published {
		a.log.Info("published the WireGuard public key", zap.String("family", w.fam.Name()), zap.String("publicKey", want))
		w.published = want
	}
	kind := ipam.WireGuard
	if w.fam.IPv6 {
		kind = ipam.WireGuardV6
	}
	if _, err := a.ipam.EnsureTunnelAddress(ctx, a.name, kind); err != nil {
		return fmt.Errorf("%s WireGuard device address: %w", w.fam.Name(), err)
	}
	return nil
}

// setNodeWireguardKey sets status.wireguardPublicKey (or wireguardPublicKeyV6),
// compare-and-swap with retries.
func setNodeWireguardKey(ctx context.Context, c *store.Client, name string, v6 bool, key string) error {
	for attempt := 0; attempt < 20; attempt++ {
		n, err := store.GetAs[*api.Node](ctx, c, "", name)
		if err != nil {
			return fmt.Errorf("reading node %q: %w", name, err)
		}
		field := &n.Status.WireguardPublicKey
		if v6 {
			field = &n.Status.WireguardPublicKeyV6
		}
		if *field == key {
			return nil
		}
		*field = key
		_, err = c.Update(ctx, n)
		if errors.Is(err, store.ErrConflict) {
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
			continue
		}
		if err != nil {
			return fmt.Errorf("updating node %q: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("updating node %q: too many concurrent modifications", name)
}
