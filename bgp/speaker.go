package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
	"go.uber.org/zap"
)

// Options configure a Speaker. RouterID, AS and ListenAddresses are required.
type Options struct {
	// RouterID is the node's IPv4 address (Calico's default router id).
	RouterID netip.Addr
	AS       uint32
	// ListenPort 0 means 179; -1 means no listener (outbound sessions only).
	ListenPort int32
	// ListenAddresses are set explicitly: GoBGP's default "0.0.0.0" and "::" fails to start
	// where IPv6 is disabled, and a bindMode NodeIP speaker must not listen elsewhere.
	ListenAddresses []netip.Addr
	Logger          *zap.Logger
	// Restarting says this agent restarted while its peers kept our routes (graceful
	// restart): sessions open with the R-bit and updates wait for the peers' End-of-RIB.
	Restarting bool
	// ConnectRetry is the retry interval for outbound connects; 0 means 5 s (Calico's BIRD
	// "connect retry time 5"; GoBGP's own default of 120 s makes cold starts slow).
	ConnectRetry time.Duration
	// HoldTime 0 means GoBGP's default of 90 s.
	HoldTime time.Duration
}

func (o *Options) validate() error {
	if !o.RouterID.Is4() {
		return fmt.Errorf("routerID: %q is not an IPv4 address", o.RouterID)
	}
	if o.AS == 0 {
		return errors.New("asNumber: must not be 0")
	}
	if o.ListenPort < -1 || o.ListenPort > 65535 {
		return fmt.Errorf("listenPort: %d is out of range (-1 for none, 0 for 179, up to 65535)", o.ListenPort)
	}
	if o.ListenPort >= 0 && len(o.ListenAddresses) == 0 {
		return errors.New("listenAddresses: at least one address is needed unless listenPort is -1")
	}
	for i, a := range o.ListenAddresses {
		if !a.IsValid() {
			return fmt.Errorf("listenAddresses[%d]: not a valid IP address", i)
		}
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.ConnectRetry == 0 {
		o.ConnectRetry = 5 * time.Second
	}
	return nil
}

// Speaker is one embedded GoBGP server. Its Set methods are safe to call from any goroutine;
// calls are serialised so each diff sees the result of the previous one.
type Speaker struct {
	opts    Options
	srv     *server.BgpServer
	log     *zap.Logger
	cancel  context.CancelFunc
	started time.Time

	cfgMu   sync.Mutex          // serialises SetPeers/SetAdvertisements and guards peers, adverts
	peers   map[netip.Addr]Peer // in GoBGP
	held    map[netip.Addr]Peer // wanted but kept out of GoBGP (Peer.Hold)
	adverts map[netip.Prefix]Advertisement

	learned *learnedQueue
	status  *statusTracker
	bmpPort uint32 // GoBGP's BMP client reports peer-down reasons here; 0: none
}

// Families index oc.IntToAfiSafiTypeMap: 0 ipv4-unicast, 1 ipv6-unicast. Listing them keeps
// GoBGP from building tables for all 26 families.
var families = []uint32{0, 1}

// Start creates the GoBGP server, starts it and its watchers. No gRPC listener is opened.
func Start(ctx context.Context, opts Options) (*Speaker, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s := &Speaker{
		opts:    opts,
		log:     opts.Logger,
		peers:   map[netip.Addr]Peer{},
		held:    map[netip.Addr]Peer{},
		adverts: map[netip.Prefix]Advertisement{},
		learned: newLearnedQueue(),
		status:  newStatusTracker(),
		started: time.Now(),
	}
	s.srv = server.NewBgpServer(server.LoggerOption(newZapLogger(opts.Logger)))
	// Serve never returns; every API call waits for it, so it must run before StartBgp.
	go s.srv.Serve()

	listen := make([]string, len(opts.ListenAddresses))
	for i, a := range opts.ListenAddresses {
		listen[i] = a.String()
	}
	err := s.srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:             opts.AS,
		RouterId:        opts.RouterID.String(),
		ListenPort:      opts.ListenPort,
		ListenAddresses: listen,
		Families:        families,
	}})
	if err != nil {
		return nil, fmt.Errorf("start BGP (router id %s, AS %d, port %d): %w", opts.RouterID, opts.AS, opts.ListenPort, err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if err := s.watch(wctx); err != nil {
		cancel()
		_ = s.srv.StopBgp(context.Background(), &api.StopBgpRequest{})
		return nil, err
	}
	if err := s.startPeerDownFeed(wctx); err != nil {
		s.log.Warn("BGP peer-down reasons unavailable in node status", zap.Error(err))
	}
	return s, nil
}

// Close stops the watchers and leaves every session as it is. An agent that exits after
// Close drops its TCP connections without a NOTIFICATION, which peers treat as a graceful
// restart: they keep our routes for the restart time (gobgp.md §6). StopBgp would not.
func (s *Speaker) Close() {
	s.cancel()
	s.stopPeerDownFeed()
}

// Shutdown withdraws everything: every session gets CEASE and peers drop our routes at once.
// Use it when the node leaves, not for a restart.
func (s *Speaker) Shutdown(ctx context.Context) error {
	s.cancel()
	s.stopPeerDownFeed()
	return s.srv.StopBgp(ctx, &api.StopBgpRequest{})
}

// RouterID returns the speaker's router id.
func (s *Speaker) RouterID() netip.Addr { return s.opts.RouterID }
