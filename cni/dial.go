package cni

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/types"
	clientv3 "go.etcd.io/etcd/client/v3"
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
	tlsCfg, err := tlsFor(cfg)
	if err != nil {
		return nil, newError(types.ErrInvalidNetworkConfig, err.Error(), "check the etcd_*_file fields of the CNI config")
	}
	ec, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		TLS:                  tlsCfg,
		Username:             cfg.Username,
		Password:             cfg.Password,
		Logger:               log.Named("etcd-client").WithOptions(zap.IncreaseLevel(zap.ErrorLevel)),
	})
	if err != nil {
		return nil, newError(types.ErrTryAgainLater, fmt.Sprintf("connecting to etcd at %s: %v", strings.Join(cfg.Endpoints, ","), err),
			"check that etcd is running and reachable at "+strings.Join(cfg.Endpoints, ","))
	}
	return store.NewFromEtcdConfig(ec, cfg), nil
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

// tlsFor builds the client TLS settings from the ETCD_* files, as store.Connect does.
func tlsFor(cfg store.Config) (*tls.Config, error) {
	if cfg.CACertFile == "" && cfg.CertFile == "" && cfg.KeyFile == "" {
		for _, e := range cfg.Endpoints {
			if strings.HasPrefix(e, "https://") {
				return &tls.Config{MinVersion: tls.VersionTLS12}, nil // verify against the system roots
			}
		}
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACertFile != "" {
		pem, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("etcd_ca_cert_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd_ca_cert_file %s: no PEM certificate found", cfg.CACertFile)
		}
		t.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fmt.Errorf("etcd_cert_file and etcd_key_file must be given together")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd_cert_file/etcd_key_file: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
