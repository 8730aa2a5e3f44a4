package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/cni"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/brindle-net/brindle/explain"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// Options configure `brindle node run` (and `felix`, `bgp`).
type Options struct {
	Name     string // --name; else the state dir's nodename file; else the hostname
	IP       string // "autodetect" (default) or this node's IPv4 in CIDR form
	IPMethod string // Calico's IP_AUTODETECTION_METHOD, default first-found
	// IP6 is Calico's IP6: "" or "none" keeps the Node's bgp.ipv6Address as it is,
	// "autodetect" detects it with IP6Method (IP6_AUTODETECTION_METHOD), else an IPv6 CIDR.
	IP6        string
	IP6Method  string
	AS         uint32 // 0: keep what the Node has (or the cluster default)
	StateDir   string // default /var/lib/calico
	HealthPort int    // 0: no health endpoint
	HealthHost string // default 127.0.0.1
	// StatusListen, when set, also serves the status endpoint on TCP (host:port) for
	// `brindle explain` on other hosts; StatusTLS authenticates it (nil: loopback only).
	StatusListen string
	StatusTLS    *tls.Config
	BGP          bool // run the BGP speaker
	Dataplane    bool // program the kernel
	// AutoHostEndpoint: keep a HostEndpoint "<node>-auto-hep" (interfaceName "*", the Node's
	// labels and addresses, default-allow profile) as Calico's kube-controllers does.
	AutoHostEndpoint bool
	// SecretsDir holds BGP passwords as <dir>/<secret>/<key> (default DefaultSecretsDir).
	SecretsDir string
	Store      *store.Client
	Logger     *zap.Logger
}

// Agent is one running node agent.
type Agent struct {
	opts    Options
	log     *zap.Logger
	store   *store.Client
	ipam    *ipam.Allocator
	health  *Health
	name    string
	nodeIP  netip.Prefix
	nodeIP6 netip.Prefix // invalid: leave the Node's bgp.ipv6Address alone
	uplink  string
	mtu     int
	cache   *cache
	dp      dataplaneDriver // nil: this role programs no kernel (`brindle bgp`)
	speaker bgpSpeaker      // nil until the first BGP sync starts one
	bgpKey  string          // AS/router-id/port the speaker was started with
	mtuFile int             // MTU last written for the CNI plugin
	tunnels chan struct{}
	status  *statusSource
	comp    agentComponents
	metrics *agentMetrics // node/metrics.go
	notify  *notifier     // node/notify.go
	desired lastDesired   // for `brindle explain` (node/explain.go)
	wg      wgAgent       // node/wireguard.go: the IPv4 device
	wg6     wgAgent       // the IPv6 device

	// Seams for the loop's unit tests; start sets the real ones.
	watch        watchFunc
	startSpeaker startSpeakerFunc
	kernelRoutes func() []calc.LearnedRoute // BGP routes a previous run left in the kernel
	autoHEP      chan struct{}              // kicks the automatic host endpoint loop (nil: off)
}

// Run starts the agent and runs it until ctx ends. It does not need the datastore to start:
// until etcd answers it keeps the kernel as it is and reports not ready (as felix and
// calico-node wait), then registers and follows the datastore.
func Run(ctx context.Context, o Options) error {
	a, err := start(ctx, o)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.connect(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for the datastore
		}
		return err
	}
	// Registered: this host's IPAM plugins may now hand their ADDs to the agent (cni/broker.go).
	if err := cni.ServeIPAM(ctx, a.opts.StateDir, a.store, a.name, a.log.Named("ipam-broker")); err != nil {
		a.log.Warn("no IPAM socket; the IPAM plugin assigns on its own", zap.Error(err))
	}
	return a.loop(ctx)
}

// start does everything that needs no datastore: name, address, uplink, the dataplane
// handles (which touch nothing), the status socket and the health endpoint.
func start(ctx context.Context, o Options) (*Agent, error) {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	a := &Agent{opts: o, log: o.Logger, store: o.Store, health: NewHealth(), tunnels: make(chan struct{}, 1),
		ipam: ipam.New(o.Store, ipam.Options{Logger: o.Logger.Named("ipam")}), status: &statusSource{},
		startSpeaker: startGoBGP, kernelRoutes: kernelBGPRoutes}
	a.watch = func(ctx context.Context) <-chan store.Batch {
		return a.store.Watch(ctx, store.WatchOptions{Prefixes: watchPrefixes(a.name)})
	}
	o.StateDir = StateDir(o.StateDir)
	a.opts.StateDir = o.StateDir
	if err := EnsureStateDir(o.StateDir); err != nil {
		return nil, err
	}
	name, err := ResolveNodename(o.Name, o.StateDir)
	if err != nil {
		return nil, err
	}
	a.name = name
	if a.nodeIP, err = a.detectIP(); err != nil {
		return nil, err
	}
	if a.nodeIP6, err = a.detectIP6(); err != nil {
		return nil, err
	}
	if a.uplink, a.mtu, err = uplinkFor(a.nodeIP.Addr()); err != nil {
		return nil, err
	}
	a.cache = newCache(name, o.BGP)
	a.cache.report = a.store.ReportBroken
	a.cache.unsupported = newUnsupportedLog(a.log)
	if o.BGP {
		a.cache.secrets = newSecretFiles(o.SecretsDir, a.log.Named("secrets"))
	}
	a.cache.state.Uplink, a.cache.state.UplinkMTU = a.uplink, a.mtu
	a.cache.state.RoutesFromBGP = o.BGP
	if o.Dataplane {
		dp, err := dataplane.New(dataplane.Options{Logger: a.log.Named("dataplane")})
		if err != nil {
			return nil, err
		}
		a.dp = dp
		a.wg.drv, a.wg6.drv = dp, dp
	} else {
		a.cache.pol = nil // no policy model without a dataplane to program (the bgp role)
	}
	a.wg.fam, a.wg6.fam = calc.WireguardV4, calc.WireguardV6
	a.status.wg = a.WireGuardStatus
	a.health.Report("datastore", true, false, "connecting")
	a.metrics, a.notify = newMetrics(a.status), newNotifier(a.health)
	a.health.handle("/metrics", a.metrics.handler())
	addPprof(a.health)
	go a.notify.run(ctx)
	if err := a.serveStatus(ctx); err != nil {
		a.close()
		return nil, err
	}
	if o.HealthPort > 0 {
		host := o.HealthHost
		if host == "" {
			host = "127.0.0.1"
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(o.HealthPort)))
		if err != nil {
			a.close()
			return nil, fmt.Errorf("health port: %w", err)
		}
		go a.health.Serve(ctx, l)
	}
	return a, nil
}

func (a *Agent) detectIP() (netip.Prefix, error) {
	if a.opts.IP != "" && a.opts.IP != "autodetect" {
		p, err := netip.ParsePrefix(a.opts.IP)
		if err != nil || !p.Addr().Is4() {
			return netip.Prefix{}, fmt.Errorf("--ip %q: want this node's IPv4 address in CIDR form, e.g. 10.0.0.5/24, or autodetect", a.opts.IP)
		}
		return p, nil
	}
	ifaces, err := hostInterfaces()
	if err != nil {
		return netip.Prefix{}, err
	}
	return Detect(a.opts.IPMethod, ifaces, routeSource)
}

// detectIP6 follows Calico's IP6 handling (node/pkg/lifecycle/startup/startup.go).
func (a *Agent) detectIP6() (netip.Prefix, error) {
	switch a.opts.IP6 {
	case "", "none":
		return netip.Prefix{}, nil
	case "autodetect":
		ifaces, err := hostInterfaces()
		if err != nil {
			return netip.Prefix{}, err
		}
		p, err := DetectVersion(a.opts.IP6Method, 6, ifaces, routeSource)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("--ip6 autodetect: %w", err)
		}
		return p, nil
	}
	p, err := netip.ParsePrefix(a.opts.IP6)
	if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("--ip6 %q: want this node's IPv6 address in CIDR form, e.g. fd00::5/64, autodetect or none", a.opts.IP6)
	}
	return p, nil
}

func (a *Agent) close() {
	if a.speaker != nil {
		// Close, not Shutdown: peers keep our routes across a restart (graceful restart).
		a.speaker.Close()
	}
	if a.dp != nil {
		a.dp.Close()
	}
}

// serveStatus answers `brindle node status` and `brindle explain` on the state dir's unix
// socket, and on TCP with --status-listen.
func (a *Agent) serveStatus(ctx context.Context) error {
	l, err := bgpstatus.Listen(bgpstatus.SocketPath(a.opts.StateDir))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(bgpstatus.Path, bgpstatus.Handler(a.status))
	a.handlePolicyStatus(mux)
	mux.HandleFunc("GET "+explain.FactsPath, a.factsHandler)
	mux.HandleFunc("GET "+explain.CapturePath, a.captureHandler)
	listeners := []net.Listener{l}
	if a.opts.StatusListen != "" {
		tl, err := bgpstatus.ListenTCP(a.opts.StatusListen, a.opts.StatusTLS)
		if err != nil {
			l.Close()
			return err
		}
		listeners = append(listeners, tl)
	}
	for _, l := range listeners {
		go func() {
			if err := bgpstatus.Serve(ctx, l, mux); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("status endpoint stopped", zap.String("address", l.Addr().String()), zap.Error(err))
			}
		}()
	}
	return nil
}
