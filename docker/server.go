// Package docker is brindle's Docker network and IPAM plugin: Docker's remote NetworkDriver
// and IpamDriver protocol (JSON over HTTP on a unix socket Docker discovers under
// /run/docker/plugins) on top of brindle's IPAM and the CNI plugin's wiring and endpoint
// records, so a Docker container is the same kind of workload as a CNI one (docs/docker.md).
package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// Options configure the plugin.
type Options struct {
	Name       string // driver name Docker uses (-d / --ipam-driver); socket <SocketDir>/<Name>.sock
	SocketDir  string // default /run/docker/plugins
	Node       string // this host's node name
	DockerHost string // Docker API socket path, for network names and container labels; "" to skip
	MTU        int    // veth MTU
	// Scope is what GetCapabilities reports: "local" (default) or "global". Docker refuses a
	// global-scope driver unless the host is a swarm manager ("This node is not a swarm
	// manager", measured with docker.io 20.10), so plain hosts need local. brindle's
	// network is global either way: its identity is the Docker network's name (the
	// per-network profile in etcd), so `bnet` on two hosts is one network.
	Scope string
	// StateDir is the node agent's state directory; the IPAM's cross-process queue lives in
	// <StateDir>/ipam-queue, shared with the CNI plugin on this host.
	StateDir string
	Store    *store.Client
	Logger   *zap.Logger
}

// Plugin serves one socket.
type Plugin struct {
	o   Options
	log *zap.Logger
	api *dockerAPI
	srv *http.Server
	ln  net.Listener

	alloc *ipam.Allocator // one for the process: its block cache and hints outlive a request

	mu       sync.Mutex
	netNames map[string]string // Docker network ID -> name (profile)
	profiles map[string]bool   // profiles this process has seen exist
}

// New checks the options; Serve opens the socket.
func New(o Options) (*Plugin, error) {
	switch {
	case o.Name == "":
		return nil, errors.New("name: must not be empty")
	case o.Node == "":
		return nil, errors.New("node: must not be empty")
	case o.Store == nil:
		return nil, errors.New("store: no datastore client")
	}
	if o.SocketDir == "" {
		o.SocketDir = "/run/docker/plugins"
	}
	switch o.Scope {
	case "":
		o.Scope = "local"
	case "local", "global":
	default:
		return nil, fmt.Errorf("scope: must be local or global (got %q)", o.Scope)
	}
	if o.MTU <= 0 {
		o.MTU = 1500
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	p := &Plugin{o: o, log: o.Logger, netNames: map[string]string{}, profiles: map[string]bool{}}
	io := ipam.Options{Logger: o.Logger}
	if o.StateDir != "" {
		io.QueueDir = filepath.Join(o.StateDir, "ipam-queue")
	}
	p.alloc = ipam.New(o.Store, io)
	if o.DockerHost != "" {
		p.api = newDockerAPI(o.DockerHost)
	}
	return p, nil
}

// SocketPath is where the plugin listens.
func (p *Plugin) SocketPath() string { return filepath.Join(p.o.SocketDir, p.o.Name+".sock") }

// Listen opens the socket (replacing a stale one a crashed plugin left behind).
func (p *Plugin) Listen() error {
	if err := os.MkdirAll(p.o.SocketDir, 0o755); err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	path := p.SocketPath()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", path, err)
	}
	// Only dockerd (root) talks to the plugin: whoever can connect can allocate addresses
	// and wire interfaces. The umask would usually leave 0755 (connecting needs write, so
	// root only already), but not under every umask.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("socket %s: %w", path, err)
	}
	p.ln = ln
	mux := http.NewServeMux()
	for path, h := range p.handlers() {
		mux.HandleFunc("/"+path, h)
	}
	p.srv = &http.Server{Handler: mux}
	return nil
}

// Serve answers Docker until ctx ends.
func (p *Plugin) Serve(ctx context.Context) error {
	if p.ln == nil {
		if err := p.Listen(); err != nil {
			return err
		}
	}
	go func() {
		<-ctx.Done()
		_ = p.srv.Close()
	}()
	p.log.Info("docker plugin listening", zap.String("socket", p.SocketPath()), zap.String("node", p.o.Node))
	err := p.srv.Serve(p.ln)
	_ = os.Remove(p.SocketPath())
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

type handler func(ctx context.Context, req json.RawMessage) (any, error)

// handlers maps each protocol method to its function.
func (p *Plugin) handlers() map[string]http.HandlerFunc {
	m := map[string]handler{
		"Plugin.Activate": func(context.Context, json.RawMessage) (any, error) {
			return map[string][]string{"Implements": {"NetworkDriver", "IpamDriver"}}, nil
		},
		"NetworkDriver.GetCapabilities": func(context.Context, json.RawMessage) (any, error) {
			return map[string]string{"Scope": p.o.Scope, "ConnectivityScope": "global"}, nil
		},
		"NetworkDriver.CreateNetwork":               p.createNetwork,
		"NetworkDriver.DeleteNetwork":               p.deleteNetwork,
		"NetworkDriver.CreateEndpoint":              p.createEndpoint,
		"NetworkDriver.DeleteEndpoint":              p.deleteEndpoint,
		"NetworkDriver.EndpointOperInfo":            p.endpointInfo,
		"NetworkDriver.Join":                        p.join,
		"NetworkDriver.Leave":                       p.leave,
		"NetworkDriver.DiscoverNew":                 empty,
		"NetworkDriver.DiscoverDelete":              empty,
		"NetworkDriver.ProgramExternalConnectivity": empty,
		"NetworkDriver.RevokeExternalConnectivity":  empty,
		"IpamDriver.GetCapabilities": func(context.Context, json.RawMessage) (any, error) {
			return map[string]bool{"RequiresMACAddress": false, "RequiresRequestReplay": false}, nil
		},
		"IpamDriver.GetDefaultAddressSpaces": func(context.Context, json.RawMessage) (any, error) {
			return map[string]string{"LocalDefaultAddressSpace": "BrindleLocal", "GlobalDefaultAddressSpace": "BrindleGlobal"}, nil
		},
		"IpamDriver.RequestPool":    p.requestPool,
		"IpamDriver.ReleasePool":    empty,
		"IpamDriver.RequestAddress": p.requestAddress,
		"IpamDriver.ReleaseAddress": p.releaseAddress,
	}
	out := map[string]http.HandlerFunc{}
	for name, h := range m {
		out[name] = p.serve(name, h)
	}
	return out
}

func empty(context.Context, json.RawMessage) (any, error) { return struct{}{}, nil }

// serve decodes the body, runs h and writes its answer; an error goes back as {"Err": ...},
// which Docker shows to the user.
func (p *Plugin) serve(name string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"Err": fmt.Sprintf("%s: decoding request: %v", name, err)})
			return
		}
		start := time.Now()
		out, err := h(r.Context(), body)
		if err != nil {
			p.log.Warn("docker plugin request failed", zap.String("method", name), zap.Error(err))
			writeJSON(w, http.StatusInternalServerError, map[string]string{"Err": err.Error()})
			return
		}
		p.log.Debug("docker plugin request", zap.String("method", name), zap.ByteString("req", body), zap.Duration("took", time.Since(start)))
		writeJSON(w, http.StatusOK, out)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1.2+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a request body into v; an empty body leaves v zero.
func decode(req json.RawMessage, v any) error {
	if len(req) == 0 {
		return nil
	}
	if err := json.Unmarshal(req, v); err != nil {
		return fmt.Errorf("decoding request: %w", err)
	}
	return nil
}
