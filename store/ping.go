package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Ping checks that etcd answers within the dial timeout. A failure names the endpoints and,
// where it can be found out, the real cause (refused, unreachable, TLS) instead of gRPC's
// bare "deadline exceeded". The node agent calls it until it succeeds (it starts without
// the datastore); Connect calls it once.
func (c *Client) Ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	// A Get on a key nobody uses proves the cluster answers (and has a leader for linearizable reads).
	_, err := c.etcd.Get(pctx, "/calico/.ping", clientv3.WithCountOnly())
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if authErr := credentialsRefused(err); authErr != nil {
		return fmt.Errorf("etcd at %s: %w", strings.Join(c.cfg.Endpoints, ","), authErr)
	}
	tlsCfg := c.tls
	if c.tlsFiles != nil {
		tlsCfg = c.tlsFiles.current()
	}
	if cause := probeEndpoints(c.cfg.Endpoints, tlsCfg, c.cfg.DialTimeout); cause != nil {
		err = cause
	}
	return fmt.Errorf("etcd at %s did not answer within %s: %w", strings.Join(c.cfg.Endpoints, ","), c.cfg.DialTimeout, err)
}

// reconnectParams caps gRPC's reconnect backoff (by default it grows to two minutes): a
// long-running client (the node agent) redials at most half a second after a failed
// attempt, and with quickDial reconnects within about a second of etcd coming back.
func reconnectParams() grpc.DialOption {
	return grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
		MinConnectTimeout: 5 * time.Second,
	})
}
