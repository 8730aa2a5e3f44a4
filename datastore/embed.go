// Package datastore runs an embedded etcd member (go.etcd.io/etcd/server/v3/embed): the
// default datastore for a single host, a demo and the tests.
package datastore

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

// Options configures one member. Cluster fields let three members form a real cluster.
type Options struct {
	Name                string   // member name, default "default"
	DataDir             string   // required
	ClientURLs          []string // default http://127.0.0.1:2379
	PeerURLs            []string // default http://127.0.0.1:2380
	AdvertiseClientURLs []string // default = ClientURLs
	AdvertisePeerURLs   []string // default = PeerURLs
	InitialCluster      string   // "name=peerURL,..."; default: this member alone
	ClusterState        string   // "new" (default) or "existing"
	ClusterToken        string   // default "brindle"
	Logger              *zap.Logger
	StartTimeout        time.Duration // default 60s
	ClientTLS           TLSOptions    // serve clients over TLS when CertFile is set
}

// TLSOptions are etcd's client-side server TLS settings (--cert-file, --key-file,
// --trusted-ca-file, --client-cert-auth).
type TLSOptions struct {
	CertFile       string
	KeyFile        string
	TrustedCAFile  string
	ClientCertAuth bool // require a client certificate signed by TrustedCAFile
}

// Server is a running member.
type Server struct {
	etcd      *embed.Etcd
	opts      Options
	closeOnce sync.Once
}

// Start launches the member and waits until it serves clients.
func Start(o Options) (*Server, error) {
	cfg := embed.NewConfig()
	if o.Name != "" {
		cfg.Name = o.Name
	}
	if o.DataDir == "" {
		return nil, fmt.Errorf("datastore: data dir is required")
	}
	cfg.Dir = o.DataDir
	var err error
	if cfg.ListenClientUrls, err = parseURLs("client URL", o.ClientURLs, "http://127.0.0.1:2379"); err != nil {
		return nil, err
	}
	if cfg.ListenPeerUrls, err = parseURLs("peer URL", o.PeerURLs, "http://127.0.0.1:2380"); err != nil {
		return nil, err
	}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	if len(o.AdvertiseClientURLs) > 0 {
		if cfg.AdvertiseClientUrls, err = parseURLs("advertise client URL", o.AdvertiseClientURLs, ""); err != nil {
			return nil, err
		}
	}
	cfg.AdvertisePeerUrls = cfg.ListenPeerUrls
	if len(o.AdvertisePeerURLs) > 0 {
		if cfg.AdvertisePeerUrls, err = parseURLs("advertise peer URL", o.AdvertisePeerURLs, ""); err != nil {
			return nil, err
		}
	}
	cfg.InitialCluster = o.InitialCluster
	if cfg.InitialCluster == "" {
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	}
	if o.ClusterState != "" {
		cfg.ClusterState = o.ClusterState
	}
	if o.ClientTLS.CertFile != "" || o.ClientTLS.KeyFile != "" {
		if o.ClientTLS.CertFile == "" || o.ClientTLS.KeyFile == "" {
			return nil, fmt.Errorf("datastore: TLS cert file and key file must be given together")
		}
		if o.ClientTLS.ClientCertAuth && o.ClientTLS.TrustedCAFile == "" {
			return nil, fmt.Errorf("datastore: client certificate auth needs a trusted CA file")
		}
		cfg.ClientTLSInfo.CertFile = o.ClientTLS.CertFile
		cfg.ClientTLSInfo.KeyFile = o.ClientTLS.KeyFile
		cfg.ClientTLSInfo.TrustedCAFile = o.ClientTLS.TrustedCAFile
		cfg.ClientTLSInfo.ClientCertAuth = o.ClientTLS.ClientCertAuth
	}
	// Nothing else compacts this etcd (in Kubernetes the API server does): keep an hour of
	// history so watchers can resume, and let etcd drop the rest so the keyspace stays small.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	cfg.InitialClusterToken = "brindle"
	if o.ClusterToken != "" {
		cfg.InitialClusterToken = o.ClusterToken
	}
	// Closing an embedded member logs harmless error lines ("mux: server closed", "use of
	// closed network connection"); without a caller's logger keep only fatal ones. Start
	// failures are returned as errors either way.
	if o.Logger != nil {
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(o.Logger.Named("etcd"))
	} else {
		cfg.LogLevel = "fatal"
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting etcd member %q: %w", cfg.Name, err)
	}
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd member %q failed: %w", cfg.Name, err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("etcd member %q not ready after %s (are the other members up?)", cfg.Name, timeout)
	}
	return &Server{etcd: e, opts: o}, nil
}

// Options returns what the member was started with, so a test can restart it on the same
// data dir and ports.
func (s *Server) Options() Options { return s.opts }

// ClientURLs returns the URLs clients reach this member on (real ports, also when 0 was asked).
func (s *Server) ClientURLs() []string {
	var out []string
	scheme := "http://"
	if s.opts.ClientTLS.CertFile != "" {
		scheme = "https://"
	}
	for _, l := range s.etcd.Clients {
		out = append(out, scheme+l.Addr().String())
	}
	return out
}

// Endpoints is ClientURLs joined for ETCD_ENDPOINTS.
func (s *Server) Endpoints() string { return strings.Join(s.ClientURLs(), ",") }

// Client returns an in-process client of this member: no network, no TLS, so the member
// can initialise the datastore whatever client security it demands. Close it when done.
func (s *Server) Client() *clientv3.Client { return v3client.New(s.etcd.Server) }

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the member; closing twice is harmless (tests close early and in cleanup).
func (s *Server) Close() { s.closeOnce.Do(s.etcd.Close) }

func parseURLs(what string, in []string, def string) ([]url.URL, error) {
	if len(in) == 0 && def != "" {
		in = []string{def}
	}
	out := make([]url.URL, 0, len(in))
	for _, s := range in {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("datastore: %s %q is not a URL like http://127.0.0.1:2379", what, s)
		}
		out = append(out, *u)
	}
	return out, nil
}
