package node

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// Fakes at the loop's seams (seams.go). They hold no logic of their own: each records its
// calls and fails while the test says so.

// failSwitch makes a fake fail with err until cleared.
type failSwitch struct {
	mu    sync.Mutex
	err   error
	calls int
	at    []time.Time
}

func (f *failSwitch) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *failSwitch) call() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.at = append(f.at, time.Now())
	return f.err
}

func (f *failSwitch) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.at...)
}

func (f *failSwitch) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

type fakeDataplane struct {
	apply   failSwitch
	policy  failSwitch // ApplyPolicyProgram
	mu      sync.Mutex
	last    calc.Desired
	resyncs int
}

func (d *fakeDataplane) Apply(_ context.Context, want calc.Desired) error {
	d.mu.Lock()
	d.last = want
	d.mu.Unlock()
	return d.apply.call()
}
func (d *fakeDataplane) MarkResync() {
	d.mu.Lock()
	d.resyncs++
	d.mu.Unlock()
}
func (d *fakeDataplane) Watch(ctx context.Context, _ func()) error { <-ctx.Done(); return nil }
func (d *fakeDataplane) Close()                                    {}

func (d *fakeDataplane) ApplyPolicyProgram(context.Context, *policy.Program, policy.Delta) error {
	return d.policy.call()
}
func (d *fakeDataplane) PolicyStale() bool { return false }
func (d *fakeDataplane) ChainCounters([]string) (map[string][]dataplane.RuleCounter, error) {
	return nil, nil
}

type fakeSpeaker struct {
	peers, ads failSwitch
	learned    chan struct{}
}

func (s *fakeSpeaker) SetPeers(context.Context, []bgp.Peer) error { return s.peers.call() }
func (s *fakeSpeaker) SetAdvertisements(context.Context, []bgp.Advertisement) error {
	return s.ads.call()
}
func (s *fakeSpeaker) LearnedReady() <-chan struct{}      { return s.learned }
func (s *fakeSpeaker) DrainLearned() []bgp.Route          { return nil }
func (s *fakeSpeaker) LearnedRoutes() []bgp.Route         { return nil }
func (s *fakeSpeaker) Status() bgp.Status                 { return bgp.Status{} }
func (s *fakeSpeaker) Close()                             {}
func (s *fakeSpeaker) Shutdown(ctx context.Context) error { return nil }

// loopBed is an agent whose loop runs against fakes: batches come from the test, the
// dataplane and speaker are fakes. The datastore is a real embedded etcd only for what the
// loop does beside programming (tunnel addresses, status reports).
type loopBed struct {
	a       *Agent
	batches chan store.Batch
	dp      *fakeDataplane
	sp      *fakeSpeaker
	starts  failSwitch // speaker starts
	done    chan error
}

func newLoopBed(t *testing.T, log *zap.Logger, withBGP bool) *loopBed {
	t.Helper()
	_, st := datastore.StartTest(t)
	return newLoopBedWith(t, st, log, withBGP)
}

func newLoopBedWith(t *testing.T, st *store.Client, log *zap.Logger, withBGP bool) *loopBed {
	t.Helper()
	if log == nil {
		log = zap.NewNop()
	}
	// Unbuffered: a send returns only when the loop has finished the previous iteration,
	// which is how a test knows that the loop has handled what it sent before.
	b := &loopBed{batches: make(chan store.Batch), dp: &fakeDataplane{},
		sp: &fakeSpeaker{learned: make(chan struct{})}, done: make(chan error, 1)}
	a := &Agent{
		opts: Options{BGP: withBGP, Dataplane: true, StateDir: t.TempDir()}, log: log, store: st,
		ipam: ipam.New(st, ipam.Options{}), health: NewHealth(), name: "n1",
		nodeIP: netip.MustParsePrefix("10.0.0.1/24"), uplink: "eth0", mtu: 1500,
		tunnels: make(chan struct{}, 1), status: &statusSource{}, dp: b.dp,
		watch:        func(context.Context) <-chan store.Batch { return b.batches },
		kernelRoutes: func() []calc.LearnedRoute { return nil },
	}
	a.startSpeaker = func(context.Context, bgp.Options) (bgpSpeaker, error) {
		if err := b.starts.call(); err != nil {
			return nil, err
		}
		return b.sp, nil
	}
	a.cache = newCache(a.name, withBGP)
	a.cache.unsupported = newUnsupportedLog(log)
	a.cache.state.Uplink, a.cache.state.UplinkMTU = a.uplink, a.mtu
	a.cache.state.RoutesFromBGP = withBGP
	a.health.Report("datastore", true, false, "waiting for the first sync")
	b.a = a
	return b
}

// run starts the loop; it stops when the test ends.
func (b *loopBed) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { b.done <- b.a.loop(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			t.Error("the loop did not stop")
		}
	})
}

// sync sends one in-sync batch with this node's Node resource.
func (b *loopBed) sync() {
	k, _ := api.LookupKind("Node")
	n := &api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}}
	n.Spec.BGP = &api.NodeBGPSpec{IPv4Address: "10.0.0.1/24"}
	b.batches <- store.Batch{InSync: true, FromList: true, Revision: 1,
		Events: []store.Event{{Type: store.Updated, Key: store.ResourcePrefix + "nodes/n1", Kind: k, Name: "n1", Resource: n}}}
}

// waitFor polls cond until it holds; the deadline only bounds a broken test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *loopBed) ready() bool {
	_, ready, _ := b.a.health.Status()
	return ready
}

func (b *loopBed) part(name string) componentHealth {
	_, _, parts := b.a.health.Status()
	return parts[name]
}

var (
	errBoom   = errors.New("boom")
	errSecond = errors.New("second reason")
)
