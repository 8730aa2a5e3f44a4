package cli

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/brindle-net/brindle/docker"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
)

// dockerPluginCommand runs Docker's network and IPAM plugin (docs/docker.md). It needs only
// the lean build's packages (IPAM, netlink, etcd client), so it runs in the lean process.
func dockerPluginCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "docker-plugin",
		Usage: "run the Docker network and IPAM driver (docker network create -d brindle --ipam-driver brindle) until SIGINT or SIGTERM",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "name", Value: "brindle", Usage: "driver name; the socket is <socket-dir>/<name>.sock"},
			&ucli.StringFlag{Name: "socket-dir", EnvVars: []string{"BRINDLE_DOCKER_PLUGIN_DIR"}, Value: "/run/docker/plugins", Usage: "where Docker looks for plugin sockets"},
			&ucli.StringFlag{Name: "node-name", EnvVars: []string{"NODENAME"}, Usage: "node name (default: <state-dir>/nodename, else the hostname)"},
			&ucli.StringFlag{Name: "state-dir", EnvVars: []string{"BRINDLE_STATE_DIR"}, Value: "/var/lib/calico", Usage: "the node agent's state directory (nodename, mtu)"},
			&ucli.StringFlag{Name: "docker-host", EnvVars: []string{"DOCKER_HOST"}, Value: "unix:///var/run/docker.sock", Usage: "Docker API socket, for network names and container labels (empty: off)"},
			&ucli.StringFlag{Name: "scope", Value: "local", Usage: "driver scope: local, or global (needs a swarm manager)"},
			&ucli.IntFlag{Name: "mtu", Usage: "veth MTU (default: <state-dir>/mtu written by the node agent, else 1500)"},
		},
		Action: runDockerPlugin,
	}
}

func runDockerPlugin(c *ucli.Context) error {
	log, err := logger(c)
	if err != nil {
		return err
	}
	defer log.Sync()
	node := c.String("node-name")
	if node == "" {
		if b, err := os.ReadFile(filepath.Join(c.String("state-dir"), "nodename")); err == nil {
			node = strings.TrimSpace(string(b))
		}
	}
	if node == "" {
		if node, err = os.Hostname(); err != nil {
			return err
		}
	}
	mtu := c.Int("mtu")
	if mtu == 0 {
		if b, err := os.ReadFile(filepath.Join(c.String("state-dir"), "mtu")); err == nil {
			mtu, _ = strconv.Atoi(strings.TrimSpace(string(b))) // unreadable: 0, the default
		}
	}
	cfg, err := storeConfig(c)
	if err != nil {
		return err
	}
	cfg.Logger = log
	sc, err := store.Connect(c.Context, cfg)
	if err != nil {
		return err
	}
	defer sc.Close()
	p, err := docker.New(docker.Options{
		Name: c.String("name"), SocketDir: c.String("socket-dir"), Node: node,
		DockerHost: c.String("docker-host"), MTU: mtu, Scope: c.String("scope"),
		StateDir: c.String("state-dir"), Store: sc, Logger: log,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return p.Serve(ctx)
}
