package cni

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/types"
	"go.uber.org/zap"
)

// dialLazy returns a datastore client that has not talked to etcd yet. store.Connect proves
// the connection with a request of its own before returning; on ADD's critical path that is
// one round trip too many, because ADD's first reads prove it just as well. The caller
// bounds its first requests with dialTimeout and explains a failure with explainDial.
func dialLazy(c *NetConf, log *zap.Logger) (*store.Client, error) {
	cfg := c.storeConfig(log)
	if len(cfg.Endpoints) == 0 {
		return nil, errNoEndpoints()
	}
	sc, err := store.Dial(cfg)
	if err != nil {
		return nil, newError(types.ErrInvalidNetworkConfig, err.Error(),
			"check etcd_endpoints and the etcd_*_file fields of the CNI config")
	}
	return sc, nil
}

// explainDial turns a failed first request into the error connect would have given: when
// etcd does not answer store.Connect's probe either, its diagnosis (refused, unreachable,
// TLS) names the problem; otherwise the request's own error stands.
func explainDial(ctx context.Context, c *NetConf, log *zap.Logger, reqErr error) error {
	var ce *types.Error
	if errors.As(reqErr, &ce) && ce.Code == types.ErrPluginNotAvailable {
		return reqErr // etcd answered: the datastore is not ready
	}
	cfg := c.storeConfig(log)
	cfg.DialTimeout = time.Second // etcd has already failed to answer once
	sc, err := store.Connect(ctx, cfg)
	if err != nil {
		return newError(types.ErrTryAgainLater, err.Error(),
			"check that etcd is running and reachable at "+strings.Join(cfg.Endpoints, ","))
	}
	_ = sc.Close()
	return reqErr
}

func errNoEndpoints() error {
	return newError(types.ErrInvalidNetworkConfig, "etcd_endpoints: no datastore configured",
		"set \"etcd_endpoints\" in the CNI config or ETCD_ENDPOINTS in the runtime's environment")
}
