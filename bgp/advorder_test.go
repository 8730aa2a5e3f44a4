package bgp_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
	api "github.com/osrg/gobgp/v3/api"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// quiet drops the observer's own log (GoBGP logs to stderr through logrus otherwise).
type quiet struct{}

func (quiet) Panic(string, gobgplog.Fields) {}
func (quiet) Fatal(string, gobgplog.Fields) {}
func (quiet) Error(string, gobgplog.Fields) {}
func (quiet) Warn(string, gobgplog.Fields)  {}
func (quiet) Info(string, gobgplog.Fields)  {}
func (quiet) Debug(string, gobgplog.Fields) {}
func (quiet) SetLevel(gobgplog.LogLevel)    {}
func (quiet) GetLevel() gobgplog.LogLevel   { return gobgplog.ErrorLevel }

// observer is a plain GoBGP server that records, in order, every best-path change it
// learns: the view a peer of the speaker has, event by event.
type observer struct {
	mu     sync.Mutex
	events [][]string // per BEST event: "+prefix" or "-prefix"
}

func (o *observer) record(paths []*api.Path) {
	var ev []string
	for _, p := range paths {
		var pfx api.IPAddressPrefix
		if p.Nlri.UnmarshalTo(&pfx) != nil || p.NeighborIp == "<nil>" {
			continue
		}
		s := netip.PrefixFrom(netip.MustParseAddr(pfx.Prefix), int(pfx.PrefixLen)).String()
		if p.IsWithdraw {
			ev = append(ev, "-"+s)
		} else {
			ev = append(ev, "+"+s)
		}
	}
	if len(ev) > 0 {
		o.mu.Lock()
		o.events = append(o.events, ev)
		o.mu.Unlock()
	}
}

// states replays the events and says which prefixes the observer holds after each one.
func (o *observer) states() []map[string]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []map[string]bool
	cur := map[string]bool{}
	for _, ev := range o.events {
		for _, e := range ev {
			cur[e[1:]] = e[0] == '+'
		}
		snap := map[string]bool{}
		for k, v := range cur {
			if v {
				snap[k] = true
			}
		}
		out = append(out, snap)
	}
	return out
}

func startObserver(t *testing.T, net bgptest.Net, self, speaker int) *observer {
	t.Helper()
	s := server.NewBgpServer(server.LoggerOption(quiet{}))
	go s.Serve()
	if err := s.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{Asn: testAS, RouterId: net.Addrs[self].String(),
		ListenPort: int32(net.Port), ListenAddresses: []string{net.Addrs[self].String()}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.StopBgp(ctx, &api.StopBgpRequest{}) })
	o := &observer{}
	err := s.WatchEvent(ctx, &api.WatchEventRequest{Table: &api.WatchEventRequest_Table{
		Filters: []*api.WatchEventRequest_Table_Filter{{Type: api.WatchEventRequest_Table_Filter_BEST, Init: true}}}},
		func(r *api.WatchEventResponse) {
			if tb := r.GetTable(); tb != nil {
				o.record(tb.Paths)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: net.Addrs[speaker].String(), PeerAsn: testAS},
		Transport: &api.Transport{PassiveMode: true, LocalAddress: net.Addrs[self].String()},
	}}); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestAdvertisementsAnnounceBeforeWithdraw: when a prefix is replaced by another covering the
// same addresses (a block re-sized, an aggregate), a peer must never be left with neither:
// the new path goes out before the old one is withdrawn.
func TestAdvertisementsAnnounceBeforeWithdraw(t *testing.T) {
	net := bgptest.Loopback(t, 2)
	sp := bgptest.StartSpeaker(t, net, 0, bgptest.Options{AS: testAS, Verbose: testing.Verbose()})
	obs := startObserver(t, net, 1, 0)
	if err := sp.SetPeers(ctx, []bgp.Peer{{Address: net.Addrs[1], Port: net.Port, AS: testAS,
		Type: bgp.PeerGlobal, LocalAddress: net.Addrs[0]}}); err != nil {
		t.Fatal(err)
	}
	old, repl := netip.MustParsePrefix("10.65.0.0/26"), netip.MustParsePrefix("10.65.0.0/25")
	holds := func(p netip.Prefix) func() (bool, string) {
		return func() (bool, string) {
			st := obs.states()
			return len(st) > 0 && st[len(st)-1][p.String()], "not yet"
		}
	}
	if err := sp.SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: old}}); err != nil {
		t.Fatal(err)
	}
	bgptest.WaitFor(t, 30*time.Second, "the peer to learn "+old.String(), holds(old))
	for round := range 5 {
		from, to := old, repl
		if round%2 == 1 {
			from, to = repl, old
		}
		start := len(obs.states())
		if err := sp.SetAdvertisements(ctx, []bgp.Advertisement{{Prefix: to}}); err != nil {
			t.Fatal(err)
		}
		bgptest.WaitFor(t, 10*time.Second, "the peer to switch to "+to.String(), func() (bool, string) {
			st := obs.states()
			last := st[len(st)-1]
			return last[to.String()] && !last[from.String()], "not yet"
		})
		for i, st := range obs.states()[start:] {
			if len(st) == 0 {
				t.Fatalf("switching %s -> %s: after event %d the peer held no route at all (events %v)",
					from, to, start+i, obs.events[start:])
			}
		}
	}
}
