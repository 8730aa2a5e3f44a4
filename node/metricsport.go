package node

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/brindle-net/brindle/api"
	"go.uber.org/zap"
)

// metricsPort is felix's own metrics listener: with the FelixConfiguration's
// prometheusMetricsEnabled it serves /metrics on prometheusMetricsHost:prometheusMetricsPort
// (all addresses, 9091 by default, as felix/config/config_params.go has them), so a
// Prometheus scrape config written for felix finds brindle where it found felix. /metrics on
// the health port is always there.
type metricsPort struct {
	m   *agentMetrics
	log *zap.Logger

	mu     sync.Mutex
	addr   string // what srv listens on; "" when off
	srv    *http.Server
	failed string // address last failed, to log a failure once
}

// set follows the effective FelixConfiguration: start, move or stop the listener.
func (p *metricsPort) set(ctx context.Context, fc api.FelixConfigurationSpec) {
	addr := ""
	if fc.PrometheusMetricsEnabled != nil && *fc.PrometheusMetricsEnabled {
		port := 9091
		if fc.PrometheusMetricsPort != nil {
			port = *fc.PrometheusMetricsPort
		}
		addr = net.JoinHostPort(fc.PrometheusMetricsHost, strconv.Itoa(port))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if addr == p.addr {
		return
	}
	if p.srv != nil {
		shut, cancel := context.WithTimeout(ctx, time.Second)
		_ = p.srv.Shutdown(shut)
		cancel()
		p.srv, p.addr = nil, ""
		p.log.Info("Prometheus metrics port closed")
	}
	if addr == "" {
		return
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if p.failed != addr {
			p.log.Warn("cannot open the Prometheus metrics port; /metrics stays on the health port", zap.String("address", addr), zap.Error(err))
		}
		p.failed = addr
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.m.handler())
	p.srv, p.addr, p.failed = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr, ""
	go func(srv *http.Server) { _ = srv.Serve(l) }(p.srv)
	p.log.Info("Prometheus metrics port open", zap.String("address", addr))
}
