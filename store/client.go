// Package store reads and writes brindle's state in etcd v3 with Calico's exact key layout.
// It is the only package that knows the keys; everything above it speaks in resources.
package store

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Config says how to reach etcd. Field names follow Calico's environment variables.
type Config struct {
	Endpoints   []string      // ETCD_ENDPOINTS
	CACertFile  string        // ETCD_CA_CERT_FILE
	CertFile    string        // ETCD_CERT_FILE
	KeyFile     string        // ETCD_KEY_FILE
	Username    string        // ETCD_USERNAME
	Password    string        // ETCD_PASSWORD
	DialTimeout time.Duration // default 5s
	Logger      *zap.Logger   // nil: silent
	Version     string        // brindle's version, recorded by EnsureInitialized ("dev" if empty)
}

// ConfigFromEnv reads Calico's ETCD_* variables.
func ConfigFromEnv() Config {
	c := Config{
		CACertFile: os.Getenv("ETCD_CA_CERT_FILE"),
		CertFile:   os.Getenv("ETCD_CERT_FILE"),
		KeyFile:    os.Getenv("ETCD_KEY_FILE"),
		Username:   os.Getenv("ETCD_USERNAME"),
		Password:   os.Getenv("ETCD_PASSWORD"),
	}
	if e := os.Getenv("ETCD_ENDPOINTS"); e != "" {
		c.Endpoints = SplitEndpoints(e)
	}
	return c
}

// SplitEndpoints parses a comma-separated endpoint list, as Calico's ETCD_ENDPOINTS.
func SplitEndpoints(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Client is a connection to the datastore.
type Client struct {
	etcd *clientv3.Client
	cfg  Config
	log  *zap.Logger
	tls  *tls.Config // for diagnosing a failed connect
	// tlsFiles, when set, replaces tls with the files' current content (rotation).
	tlsFiles *tlsFiles

	broken brokenLog // broken records already reported
}

// Connect dials etcd and checks it answers within the dial timeout, so that a wrong endpoint
// fails fast with an error naming the endpoints instead of hanging on the first request.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	c, err := Dial(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Dial builds a client without talking to etcd yet. Callers on a latency-critical path (the
// CNI plugin) use it when their first real request proves the connection just as well as
// Connect's probe would; such a caller bounds that request by DialTimeout.
func Dial(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		cfg.Endpoints = []string{"http://127.0.0.1:2379"}
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		// Calico silently ignores one without the other; a typo should not look like "no auth".
		return nil, fmt.Errorf("ETCD_USERNAME and ETCD_PASSWORD (etcdUsername, etcdPassword) must be given together")
	}
	tlsCfg, files, err := tlsSetup(cfg)
	if err != nil {
		return nil, err
	}
	dialOpts := []grpc.DialOption{reconnectParams(), quickDial(), requireLeader()}
	if files != nil && secureEndpoint(cfg.Endpoints[0]) {
		// After clientv3's own TLS credentials, so these win (gRPC keeps the last). Only
		// where clientv3 would use TLS itself: it decides by the first endpoint's scheme,
		// and certificate files next to http endpoints stay unused, as they always were.
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(&reloadingCreds{files: files}))
	}
	ec, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		// A connection whose packets are dropped is given up after about 9 s and redialled
		// (quickDial). etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time).
		DialKeepAliveTime:    6 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		TLS:                  tlsCfg,
		Username:             cfg.Username,
		Password:             cfg.Password,
		DialOptions:          dialOpts,
		Logger:               cfg.Logger.Named("etcd-client").WithOptions(zap.IncreaseLevel(zap.ErrorLevel)),
	})
	if err != nil {
		if authErr := credentialsRefused(err); authErr != nil {
			err = authErr // clientv3 authenticates while dialling
		}
		return nil, fmt.Errorf("connecting to etcd at %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	return &Client{etcd: ec, cfg: cfg, log: cfg.Logger, tls: tlsCfg, tlsFiles: files}, nil
}

// NewFromEtcd wraps an existing etcd client (tests, the embedded datastore).
func NewFromEtcd(ec *clientv3.Client, log *zap.Logger) *Client {
	if log == nil {
		log = zap.NewNop()
	}
	return &Client{etcd: ec, log: log, cfg: Config{Logger: log}}
}

// NewFromEtcdConfig wraps an existing etcd client with the non-connection settings of cfg
// (Logger, Version).
func NewFromEtcdConfig(ec *clientv3.Client, cfg Config) *Client {
	c := NewFromEtcd(ec, cfg.Logger)
	cfg.Logger = c.log
	c.cfg = cfg
	return c
}

// Etcd exposes the raw client for the few callers that need leases or maintenance.
func (c *Client) Etcd() *clientv3.Client { return c.etcd }

// Endpoints returns the configured endpoints.
func (c *Client) Endpoints() []string { return c.etcd.Endpoints() }

// Close releases the connection.
func (c *Client) Close() error { return c.etcd.Close() }

func secureEndpoint(e string) bool {
	return strings.HasPrefix(e, "https://") || strings.HasPrefix(e, "unixs://")
}

// tlsSetup resolves the TLS side of cfg: nil for plain http, a fixed config for https
// without files (the system roots), else the files, reloaded when they change.
func tlsSetup(cfg Config) (*tls.Config, *tlsFiles, error) {
	if cfg.CACertFile == "" && cfg.CertFile == "" && cfg.KeyFile == "" {
		for _, e := range cfg.Endpoints {
			if strings.HasPrefix(e, "https://") {
				return &tls.Config{MinVersion: tls.VersionTLS12}, nil, nil
			}
		}
		return nil, nil, nil
	}
	files, err := newTLSFiles(cfg)
	if err != nil {
		return nil, nil, err
	}
	return files.current(), files, nil
}
