//go:build !brindle_lean

package cli

import (
	"context"
	"crypto/tls"
	"os/signal"
	"syscall"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/node"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
	"go.uber.org/zap"
)

func agentFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "name", EnvVars: []string{"NODENAME"}, Usage: "node name (default: <state-dir>/nodename, else the hostname)"},
		&ucli.StringFlag{Name: "ip", EnvVars: []string{"IP"}, Value: "autodetect", Usage: "this node's IPv4 address in CIDR form, or autodetect"},
		&ucli.StringFlag{Name: "ip-autodetection-method", EnvVars: []string{"IP_AUTODETECTION_METHOD"}, Value: "first-found",
			Usage: "first-found, interface=<regex>, skip-interface=<regex>, can-reach=<ip>, cidr=<cidr>"},
		&ucli.StringFlag{Name: "ip6", EnvVars: []string{"IP6"}, Value: "none",
			Usage: "this node's IPv6 address in CIDR form, autodetect, or none (keep the Node's bgp.ipv6Address)"},
		&ucli.StringFlag{Name: "ip6-autodetection-method", EnvVars: []string{"IP6_AUTODETECTION_METHOD"}, Value: "first-found",
			Usage: "as --ip-autodetection-method, for IPv6"},
		&ucli.UintFlag{Name: "as", EnvVars: []string{"AS"}, Usage: "this node's AS number (default: the cluster's)"},
		&ucli.StringFlag{Name: "state-dir", EnvVars: []string{"BRINDLE_STATE_DIR"}, Value: node.DefaultStateDir, Usage: "where nodename, mtu and the status socket live"},
		&ucli.IntFlag{Name: "health-port", Value: 9099, Usage: "port for /liveness and /readiness (0: off)"},
		&ucli.StringFlag{Name: "health-host", Value: "127.0.0.1", Usage: "address for the health endpoint"},
		&ucli.StringFlag{Name: "status-listen", Usage: "also serve the status endpoint (node status, explain) on this host:port; mutual TLS with the etcd client material, else loopback only"},
		&ucli.StringFlag{Name: "status-tls-cert", Usage: "certificate for --status-listen (default: the etcd client certificate)"},
		&ucli.StringFlag{Name: "status-tls-key", Usage: "key for --status-listen (default: the etcd client key)"},
		&ucli.StringFlag{Name: "status-tls-ca", Usage: "CA that signs explain clients' certificates (default: the etcd CA)"},
		&ucli.StringFlag{Name: "secrets-dir", EnvVars: []string{"BRINDLE_SECRETS_DIR"}, Value: node.DefaultSecretsDir,
			Usage: "BGP passwords: a BGPPeer's password.secretKeyRef {name, key} is the file <dir>/<name>/<key> (mode 600)"},
		&ucli.BoolFlag{Name: "auto-host-endpoint", EnvVars: []string{"BRINDLE_AUTO_HOST_ENDPOINT"},
			Usage: "keep a HostEndpoint <node>-auto-hep (interfaceName *, the Node's labels, default-allow profile) as Calico's kube-controllers does"},
	}
}

// nodeRunCommand is the whole agent: registration, dataplane and BGP speaker in one process.
func nodeRunCommand() *ucli.Command {
	flags := append(agentFlags(),
		&ucli.BoolFlag{Name: "bgp", Value: true, Usage: "run the BGP speaker (false: routes come from the datastore)"})
	return &ucli.Command{
		Name: "run", Usage: "run the node agent (routes, tunnels, NAT, BGP) until SIGINT or SIGTERM", Flags: flags,
		Action: func(c *ucli.Context) error { return runAgent(c, c.Bool("bgp"), true) },
	}
}

// felixCommand runs the dataplane alone, with routes from the datastore.
func felixCommand() *ucli.Command {
	return &ucli.Command{
		Name: "felix", Usage: "run only the dataplane (routes from the datastore, no BGP)", Flags: agentFlags(),
		Action: func(c *ucli.Context) error { return runAgent(c, false, true) },
	}
}

// bgpCommand runs the BGP speaker alone: peers and advertisements, no kernel programming.
func bgpCommand() *ucli.Command {
	return &ucli.Command{
		Name: "bgp", Usage: "run only the BGP speaker (no kernel programming)", Flags: agentFlags(),
		Action: func(c *ucli.Context) error { return runAgent(c, true, false) },
	}
}

func runAgent(c *ucli.Context, withBGP, withDataplane bool) error {
	log, err := logger(c)
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := storeConfig(c)
	if err != nil {
		return err
	}
	// The store client gets the agent's logger: it reports TLS files reloaded and warns, once
	// per key, about a stored record that does not decode and is skipped (without it the
	// agent skipped broken records silently).
	cfg.Logger = log
	last := ""
	st, err := store.DialRetry(ctx, cfg, func(err error) {
		if err.Error() != last {
			log.Warn("waiting for etcd to authenticate this agent (ETCD_USERNAME)", zap.Error(err))
			last = err.Error()
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer st.Close()
	var statusTLS *tls.Config
	if c.String("status-listen") != "" {
		if statusTLS, err = statusTLSFrom(c, "status-tls", bgpstatus.ServerTLS); err != nil {
			return err
		}
	}
	go followLogLevelSignals(ctx, log, c.String("log-level"))
	return node.Run(ctx, node.Options{
		StatusListen: c.String("status-listen"), StatusTLS: statusTLS,
		Name: c.String("name"), IP: c.String("ip"), IPMethod: c.String("ip-autodetection-method"),
		IP6: c.String("ip6"), IP6Method: c.String("ip6-autodetection-method"),
		AS: uint32(c.Uint("as")), StateDir: c.String("state-dir"),
		HealthPort: c.Int("health-port"), HealthHost: c.String("health-host"),
		BGP: withBGP, Dataplane: withDataplane, Store: st, Logger: log, AutoHostEndpoint: c.Bool("auto-host-endpoint"),
		SecretsDir: c.String("secrets-dir"),
	})
}
