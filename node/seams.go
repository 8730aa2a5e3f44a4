package node

import (
	"context"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/brindle-net/brindle/store"
)

// The agent loop reaches the kernel, the BGP speaker and the datastore watch only through
// these seams, so its retry and readiness logic is unit-tested with fakes, without root
// (node/loop_test.go). *dataplane.Dataplane and *bgp.Speaker are the real implementations.

// dataplaneDriver programs the kernel: Apply converges it to the desired state.
type dataplaneDriver interface {
	Apply(ctx context.Context, want calc.Desired) error
	MarkResync()
	// Watch calls trigger when the kernel drifted from the desired state.
	Watch(ctx context.Context, trigger func()) error
	Close()

	// ApplyPolicyProgram writes what changed in the policy model (one nftables
	// transaction); PolicyStale says the table must be read back and rewritten (a periodic
	// resync, or someone deleted or flushed it); ChainCounters reads rule counters for
	// `brindle node endpoints`.
	ApplyPolicyProgram(ctx context.Context, prog *policy.Program, delta policy.Delta) error
	PolicyStale() bool
	ChainCounters(chains []string) (map[string][]dataplane.RuleCounter, error)
}

// bgpSpeaker is the running BGP speaker: desired peers and advertisements in, learned
// routes and session status out.
type bgpSpeaker interface {
	SetPeers(ctx context.Context, desired []bgp.Peer) error
	SetAdvertisements(ctx context.Context, desired []bgp.Advertisement) error
	LearnedReady() <-chan struct{}
	DrainLearned() []bgp.Route
	LearnedRoutes() []bgp.Route
	Status() bgp.Status
	// Close stops without a NOTIFICATION (peers keep our routes: graceful restart);
	// Shutdown says goodbye (identity change).
	Close()
	Shutdown(ctx context.Context) error
}

// startSpeakerFunc starts a speaker; bgp.Start in production.
type startSpeakerFunc func(ctx context.Context, o bgp.Options) (bgpSpeaker, error)

func startGoBGP(ctx context.Context, o bgp.Options) (bgpSpeaker, error) {
	sp, err := bgp.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	return sp, nil
}

// watchFunc follows the datastore; (*store.Client).Watch with the agent's prefixes.
type watchFunc func(ctx context.Context) <-chan store.Batch

var (
	_ dataplaneDriver = (*dataplane.Dataplane)(nil)
	_ bgpSpeaker      = (*bgp.Speaker)(nil)
)
