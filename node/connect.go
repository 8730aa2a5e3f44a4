package node

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// connect does the agent's first datastore work: check that etcd answers, initialise it
// (idempotent, as calico-node's startup does), register the Node and allocate tunnel
// addresses. With etcd unreachable it retries with backoff for as long as it takes:
// liveness stays true, readiness false with the reason, and nothing in the kernel is
// touched (the dataplane is programmed only once the watch is in sync, in loop).
func (a *Agent) connect(ctx context.Context) error {
	fail := failureLog{log: a.log.With(zap.String("component", "datastore")), what: "connecting to the datastore"}
	err := retryUntil(ctx, a.health, &fail, "datastore", datastoreAttempt, func(ctx context.Context) error {
		if err := a.store.Ping(ctx); err != nil {
			return err
		}
		if err := a.store.EnsureInitialized(ctx); err != nil {
			return fmt.Errorf("initialising the datastore: %w", err)
		}
		_, err := register(ctx, a.store, a.name, a.nodeIP, a.nodeIP6, a.opts.AS)
		return err
	})
	if err != nil {
		return err
	}
	a.health.Report("datastore", true, false, "waiting for the first sync")
	// Tunnel addresses before the first sync, so that a new node's first apply already
	// creates tunl0/vxlan.calico and routes through it, and readiness means routes. The
	// tunnel loop keeps them right afterwards (and retries if this fails).
	tctx, cancel := context.WithTimeout(ctx, datastoreAttempt)
	defer cancel()
	if err := a.ensureTunnels(tctx); err != nil {
		a.log.Warn("tunnel addresses not allocated yet; retrying", zap.Error(err))
		a.kickTunnels()
	}
	if err := WriteStateFile(a.opts.StateDir, "nodename", a.name); err != nil {
		return err
	}
	a.log.Info("node registered", zap.String("node", a.name), zap.Stringer("ipv4", a.nodeIP), zap.Stringer("ipv6", a.nodeIP6),
		zap.String("uplink", a.uplink), zap.Int("mtu", a.mtu))
	return nil
}
