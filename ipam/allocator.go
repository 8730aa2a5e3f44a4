// Package ipam is Calico's block-affinity address allocator on brindle's store, with Calico's
// exact keys and JSON (calico-model.md §1.3, §2). Every change is a compare-and-swap; a block
// and the handle counting its addresses change in one etcd transaction, so a crash or a
// cancelled context can never leave one without the other, and no lock (host-wide or
// process-wide) is needed for correctness.
package ipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// Options tune an Allocator; zero values pick the defaults.
type Options struct {
	Logger     *zap.Logger
	MaxRetries int           // per operation; default 100 as Calico's datastoreRetries
	RetryBase  time.Duration // first backoff bound (after two quick retries); doubles up to 64x; default 2ms
	// Now is the clock for allocation timestamps and GC grace periods (tests move it).
	Now func() time.Time
	// Queue: QueueOn, QueueProcess or QueueOff (see queue.go); empty takes
	// $BRINDLE_IPAM_QUEUE, else QueueOn. The queue only saves work; correctness never needs it.
	Queue string
	// QueueDir holds the cross-process queue's lock files; default
	// $BRINDLE_STATE_DIR/ipam-queue, else /var/run/brindle/ipam-queue.
	QueueDir string
	// QueueWait bounds the wait for a turn, after which the caller proceeds without one.
	QueueWait time.Duration
	// Shared: one long-lived allocator serves many concurrent requests (the node agent's
	// IPAM broker); their block writes combine in memory (batch_mem.go).
	Shared bool
}

// Allocator assigns and releases addresses. It is safe for concurrent use, also with other
// Allocators in other processes and with Calico's own clients on the same etcd.
type Allocator struct {
	c     *store.Client
	opts  Options
	log   *zap.SugaredLogger
	q     *queue
	cache blockCache
	mem   memBatches // Options.Shared's posted requests
}

// New returns an allocator on c.
func New(c *store.Client, opts Options) *Allocator {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 100
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 2 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger.Named("ipam").Sugar()
	return &Allocator{c: c, opts: opts, log: log, q: newQueue(opts, log)}
}

// DefaultMaxBlocksPerHost is Calico's cap when the config sets none (v3.26-v3.30).
const DefaultMaxBlocksPerHost = 20

// Intended uses of an address (IPPool allowedUses).
const (
	UseWorkload = "Workload"
	UseTunnel   = "Tunnel"
)

// ErrBlockLimit: the host already has its maximum number of blocks and may not borrow.
var ErrBlockLimit = errors.New("cannot allocate new block due to per host block limit")

// ErrNoPools: no pool is usable for the request.
var ErrNoPools = errors.New("no configured Calico pools for node")

// InUseError says an address is taken (by whom) or reserved.
type InUseError struct {
	IP     string
	Handle string
	Reason string
}

func (e *InUseError) Error() string {
	if e.Handle != "" {
		return fmt.Sprintf("address %s is already in use (handle %q)", e.IP, e.Handle)
	}
	return fmt.Sprintf("address %s %s", e.IP, e.Reason)
}

// ExhaustedError names the pools that had no room and how full they are.
type ExhaustedError struct {
	Family string
	Wanted int
	Got    int
	Pools  []PoolUsage
	Reason string
}

func (e *ExhaustedError) Error() string {
	s := fmt.Sprintf("cannot assign %d IPv%s address(es) (assigned %d): %s", e.Wanted, e.Family, e.Got, e.Reason)
	for _, p := range e.Pools {
		s += fmt.Sprintf("; pool %s (%s): %d of %d in use, %d blocks", p.Name, p.CIDR, p.InUse, p.Total, p.Blocks)
	}
	return s
}

// ReadConfig returns the IPAM config; an absent key means Calico's defaults.
func (a *Allocator) ReadConfig(ctx context.Context) (Config, error) {
	cfg, _, err := a.readConfig(ctx)
	return cfg, err
}

func (a *Allocator) readConfig(ctx context.Context) (Config, int64, error) {
	kv, err := a.c.GetKV(ctx, store.IPAMConfigKey)
	if errors.Is(err, store.ErrNotFound) {
		return Config{AutoAllocateBlocks: true}, 0, nil
	}
	if err != nil {
		return Config{}, 0, err
	}
	return a.parseConfig(*kv), kv.ModRevision, nil
}

// parseConfig decodes the IPAM config. A value that does not decode is reported and read as
// Calico's defaults (as if absent), so that it cannot stop every allocation; Configure
// overwrites it by compare-and-swap on its revision.
func (a *Allocator) parseConfig(kv store.KV) Config {
	var cfg Config
	if err := json.Unmarshal(kv.Value, &cfg); err != nil {
		a.c.ReportBroken(kv.Key, kv.ModRevision, err)
		return Config{AutoAllocateBlocks: true}
	}
	return cfg
}

// ConfigChange is a partial update of the IPAM config; nil fields keep their value.
type ConfigChange struct {
	StrictAffinity     *bool
	AutoAllocateBlocks *bool
	MaxBlocksPerHost   *int
}

// Configure updates the IPAM config with CAS, applying Calico's rules: auto-allocation and
// strict affinity cannot both be off, and a block limit needs strict affinity (otherwise a
// host at its limit would silently borrow).
func (a *Allocator) Configure(ctx context.Context, ch ConfigChange) (Config, error) {
	var out Config
	err := a.retry(ctx, "updating IPAM config", func() error {
		cfg, rev, err := a.readConfig(ctx)
		if err != nil {
			return err
		}
		if ch.StrictAffinity != nil {
			cfg.StrictAffinity = *ch.StrictAffinity
		}
		if ch.AutoAllocateBlocks != nil {
			cfg.AutoAllocateBlocks = *ch.AutoAllocateBlocks
		}
		if ch.MaxBlocksPerHost != nil {
			cfg.MaxBlocksPerHost = *ch.MaxBlocksPerHost
		}
		switch {
		case cfg.MaxBlocksPerHost < 0:
			return fmt.Errorf("maxBlocksPerHost: must be 0 or more (got %d)", cfg.MaxBlocksPerHost)
		case !cfg.StrictAffinity && !cfg.AutoAllocateBlocks:
			return errors.New("strictAffinity and autoAllocateBlocks cannot both be false")
		case cfg.MaxBlocksPerHost > 0 && !cfg.StrictAffinity:
			return fmt.Errorf("maxBlocksPerHost: %d requires strictAffinity true", cfg.MaxBlocksPerHost)
		}
		w := &write{}
		w.add(store.Op{Key: store.IPAMConfigKey, Value: mustJSON(cfg), ModRevision: rev})
		if err := a.commit(ctx, w); err != nil {
			return err
		}
		out = cfg
		return nil
	})
	return out, err
}
