package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/brindle-net/brindle/logging"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
	"go.uber.org/zap"
)

// globalFlags are the connection and logging settings every verb shares.
// Precedence: flag, then environment (Calico's names), then the calicoctl config file.
func globalFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "etcd-endpoints", EnvVars: []string{"ETCD_ENDPOINTS"}, Usage: "comma-separated etcd URLs"},
		&ucli.StringFlag{Name: "etcd-ca-cert-file", EnvVars: []string{"ETCD_CA_CERT_FILE"}, Usage: "CA bundle to verify etcd"},
		&ucli.StringFlag{Name: "etcd-cert-file", EnvVars: []string{"ETCD_CERT_FILE"}, Usage: "client certificate for etcd"},
		&ucli.StringFlag{Name: "etcd-key-file", EnvVars: []string{"ETCD_KEY_FILE"}, Usage: "client key for etcd"},
		&ucli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: "/etc/calico/calicoctl.cfg", Usage: "calicoctl-style CalicoAPIConfig file"},
		&ucli.StringFlag{Name: "log-level", Aliases: []string{"l"}, EnvVars: []string{"BRINDLE_LOG_LEVEL"}, Value: "info", Usage: "debug, info, warning, error"},
		&ucli.StringFlag{Name: "log-format", EnvVars: []string{"BRINDLE_LOG_FORMAT"}, Value: "auto", Usage: "auto (console on a terminal, journal under systemd, else JSON), json, console, journal"},
	}
}

// logger builds the process logger from --log-level.
func logger(c *ucli.Context) (*zap.Logger, error) {
	return logging.NewFormat(os.Stderr, c.String("log-level"), c.String("log-format"))
}

// storeConfig resolves the datastore settings from flags, environment and config file.
func storeConfig(c *ucli.Context) (store.Config, error) {
	cfg := store.Config{
		CACertFile: c.String("etcd-ca-cert-file"),
		CertFile:   c.String("etcd-cert-file"),
		KeyFile:    c.String("etcd-key-file"),
	}
	if e := c.String("etcd-endpoints"); e != "" {
		cfg.Endpoints = store.SplitEndpoints(e)
	}
	// Calico's names; no flags, because passwords do not belong on a command line.
	cfg.Username, cfg.Password = os.Getenv("ETCD_USERNAME"), os.Getenv("ETCD_PASSWORD")
	if err := mergeConfig(c, &cfg); err != nil {
		return store.Config{}, err
	}
	return cfg, nil
}

// storeClient connects to the datastore with the resolved settings.
func storeClient(c *ucli.Context) (*store.Client, error) {
	cfg, err := storeConfig(c)
	if err != nil {
		return nil, err
	}
	return store.Connect(context.Background(), cfg)
}

// storeDialer builds a datastore client without waiting for etcd: the node agent starts
// while etcd is down and connects when it answers (its own retry loop reports why not).
func storeDialer(c *ucli.Context) (*store.Client, error) {
	cfg, err := storeConfig(c)
	if err != nil {
		return nil, err
	}
	return store.Dial(cfg)
}

// writeClient connects for a command that changes the datastore, and first initialises it
// (clusterinformations/default, the default tiers, the IPAM config) when that has not happened
// yet, as calicoctl does before every create, apply and replace
// (calicoctl/commands/common/resources.go, tryEnsureInitialized): otherwise a pool applied
// to a fresh etcd is useless until some node agent has run, because the CNI and IPAM plugins
// refuse to work on an uninitialised datastore. Like calicoctl, a failure here only warns
// (the user's credentials may allow writing only some kinds); the write itself then decides.
func writeClient(c *ucli.Context) (*store.Client, error) {
	cfg, err := storeConfig(c)
	if err != nil {
		return nil, err
	}
	cfg.Version = Version
	cl, err := store.Connect(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	if err := cl.EnsureInitialized(context.Background()); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: could not initialise the datastore: %v\n", err)
	}
	return cl, nil
}
