//go:build !brindle_lean

package cli

import (
	"context"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	ucli "github.com/urfave/cli/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// datastoreCommand is `brindle datastore run`: an embedded etcd member. Flag names are
// etcd's own, so an etcd cluster recipe carries over unchanged.
func datastoreCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "datastore",
		Usage: "the embedded etcd datastore",
		Subcommands: []*ucli.Command{{
			Name:  "run",
			Usage: "run an etcd member (initialising the datastore) until SIGINT or SIGTERM",
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "name", Value: "default", Usage: "member name"},
				&ucli.StringFlag{Name: "data-dir", Value: "/var/lib/brindle/etcd", Usage: "where the member keeps its data"},
				&ucli.StringFlag{Name: "listen-client-urls", Value: "http://127.0.0.1:2379", Usage: "comma-separated URLs to serve clients on"},
				&ucli.StringFlag{Name: "listen-peer-urls", Value: "http://127.0.0.1:2380", Usage: "comma-separated URLs to serve peers on"},
				&ucli.StringFlag{Name: "advertise-client-urls", Usage: "client URLs to tell the cluster (default: the listen URLs)"},
				&ucli.StringFlag{Name: "initial-advertise-peer-urls", Usage: "peer URLs to tell the cluster (default: the listen URLs)"},
				&ucli.StringFlag{Name: "initial-cluster", Usage: `"name=peerURL,..." of every member (default: this member alone)`},
				&ucli.StringFlag{Name: "initial-cluster-state", Value: "new", Usage: `"new" or "existing"`},
				&ucli.StringFlag{Name: "initial-cluster-token", Value: "brindle", Usage: "token that keeps separate clusters apart"},
				&ucli.StringFlag{Name: "cert-file", Usage: "TLS certificate for clients (https client URLs)"},
				&ucli.StringFlag{Name: "key-file", Usage: "TLS key for clients"},
				&ucli.StringFlag{Name: "trusted-ca-file", Usage: "CA that client certificates must chain to"},
				&ucli.BoolFlag{Name: "client-cert-auth", Usage: "require client certificates"},
			},
			Action: runDatastore,
		}},
	}
}

func datastoreOptions(c *ucli.Context, log *zap.Logger) (datastore.Options, error) {
	state := c.String("initial-cluster-state")
	if state != "new" && state != "existing" {
		return datastore.Options{}, fmt.Errorf("--initial-cluster-state %q: must be \"new\" or \"existing\"", state)
	}
	if c.String("data-dir") == "" {
		return datastore.Options{}, fmt.Errorf("--data-dir: must not be empty")
	}
	return datastore.Options{
		Name:                c.String("name"),
		DataDir:             c.String("data-dir"),
		ClientURLs:          store.SplitEndpoints(c.String("listen-client-urls")),
		PeerURLs:            store.SplitEndpoints(c.String("listen-peer-urls")),
		AdvertiseClientURLs: store.SplitEndpoints(c.String("advertise-client-urls")),
		AdvertisePeerURLs:   store.SplitEndpoints(c.String("initial-advertise-peer-urls")),
		InitialCluster:      c.String("initial-cluster"),
		ClusterState:        state,
		ClusterToken:        c.String("initial-cluster-token"),
		ClientTLS: datastore.TLSOptions{
			CertFile: c.String("cert-file"), KeyFile: c.String("key-file"),
			TrustedCAFile: c.String("trusted-ca-file"), ClientCertAuth: c.Bool("client-cert-auth"),
		},
		// etcd is chatty at info; its warnings and errors are what an operator needs.
		Logger: log.WithOptions(zap.IncreaseLevel(zapcore.WarnLevel)),
	}, nil
}

func runDatastore(c *ucli.Context) error {
	log, err := logger(c)
	if err != nil {
		return err
	}
	opts, err := datastoreOptions(c, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := datastore.Start(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	log.Info("datastore serving", zap.String("name", opts.Name), zap.Strings("clientURLs", srv.ClientURLs()), zap.String("dataDir", opts.DataDir))
	// brindle-datastore.service is Type=notify: brindle-node starts once etcd serves.
	_, _ = daemon.SdNotify(false, "READY=1\nSTATUS=serving clients on "+strings.Join(srv.ClientURLs(), ","))
	go followLogLevelSignals(ctx, log, c.String("log-level"))

	ec := srv.Client()
	defer ec.Close()
	go initialise(ctx, store.NewFromEtcdConfig(ec, store.Config{Logger: log, Version: Version}), log)

	select {
	case <-ctx.Done():
		log.Info("stopping datastore")
		return nil
	case err := <-srv.Err():
		return fmt.Errorf("datastore member %q failed: %w", opts.Name, err)
	}
}

// initialise retries until the cluster accepts writes (other members may still be joining).
func initialise(ctx context.Context, c *store.Client, log *zap.Logger) {
	for {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.EnsureInitialized(tctx)
		cancel()
		if err == nil {
			log.Info("datastore initialised")
			return
		}
		if ctx.Err() != nil {
			return
		}
		if store.CredentialsRefused(err) {
			// The member's in-process client carries no credentials. Once etcd's
			// authentication is on, the clients initialise instead (the agent at start, the
			// CLI before a write), as with a separate etcd.
			log.Info("etcd authentication is enabled; the datastore is initialised by its clients", zap.Error(err))
			return
		}
		log.Warn("initialising datastore; will retry", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
