package node

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// loopObserver is what the event loop tells the outside world: Prometheus metrics, systemd's
// readiness and watchdog, the optional Felix metrics port. The loop calls it at three points
// (a batch arrived, components ran, the watchdog ticks) and it never blocks the loop.
type loopObserver struct {
	a        *Agent
	ctx      context.Context
	watchdog <-chan time.Time // nil when systemd set no WatchdogSec
	tick     *time.Ticker
	ready    bool // READY=1 sent
	pools    bool // pools or blocks changed since the last afterRun
	felix    bool // a FelixConfiguration changed and the metrics port has not followed yet
	port     *metricsPort
}

// observeLoop starts observing; the roles and unit tests that built no metrics or notifier
// get them here.
func (a *Agent) observeLoop(ctx context.Context) *loopObserver {
	if a.metrics == nil {
		a.metrics = newMetrics(a.status)
	}
	if a.notify == nil {
		a.notify = newNotifier(a.health)
	}
	o := &loopObserver{a: a, ctx: ctx, port: &metricsPort{m: a.metrics, log: a.log}}
	if d := a.notify.watchdogInterval(); d > 0 {
		// Petted from the loop's own goroutine, so a stuck loop gets the agent restarted.
		o.tick = time.NewTicker(d / 2)
		o.watchdog = o.tick.C
		a.notify.loopPets.Store(true)
	}
	return o
}

func (o *loopObserver) stop() {
	if o.tick != nil {
		o.tick.Stop()
	}
	o.port.set(o.ctx, api.FelixConfigurationSpec{}) // closes the listener
	o.a.notify.stopping()
}

// batch notes a watch batch: cluster-wide endpoint and IPAM counts the cache does not keep,
// resyncs, and the arrival time for the sync latency histogram.
func (o *loopObserver) batch(b store.Batch) {
	m := o.a.metrics
	m.mu.Lock()
	if b.FromList {
		m.resyncsStarted.Inc()
		m.lists++
		if m.lists > 1 {
			m.watchResyncs.Inc()
		}
	}
	if len(b.Events) > 0 && len(m.pending) < 10000 {
		m.pending = append(m.pending, time.Now())
	}
	for _, ev := range b.Events {
		switch {
		case strings.HasPrefix(ev.Key, store.ResourcePrefix+"workloadendpoints/"):
			if ev.Type == store.Deleted {
				delete(m.weps, ev.Key)
			} else {
				m.weps[ev.Key] = true
			}
		case strings.HasPrefix(ev.Key, store.ResourcePrefix+"felixconfigurations/"):
			o.felix = true
		case strings.HasPrefix(ev.Key, store.ResourcePrefix+"ippools/"):
			o.pools = true
		case strings.HasPrefix(ev.Key, store.IPAMPrefix+"assignment/"):
			o.pools = true
			m.noteBlock(ev)
		}
	}
	m.mu.Unlock()
	// Only from a complete view: during a re-list the configuration may be half there.
	if o.felix && b.InSync {
		o.felix = false
		o.port.set(o.ctx, o.a.cache.felixConfig())
	}
}

// noteBlock keeps the number of addresses in use in one IPAM block.
func (m *agentMetrics) noteBlock(ev store.Event) {
	i := strings.LastIndex(ev.Key, "/")
	cidr, err := netip.ParsePrefix(store.CIDRFromKeySuffix(ev.Key[i+1:]))
	if err != nil {
		return
	}
	if ev.Type == store.Deleted {
		delete(m.blockUsed, cidr)
		return
	}
	var b struct {
		Allocations []*int `json:"allocations"`
	}
	if json.Unmarshal(ev.Value, &b) != nil {
		return // the cache reports a broken block; it counts as none here
	}
	used := 0
	for _, a := range b.Allocations {
		if a != nil {
			used++
		}
	}
	m.blockUsed[cidr] = used
}

// afterRun refreshes the gauges from the cache and sends READY=1 once every component has
// converged for the first time (the first complete programming).
func (o *loopObserver) afterRun(cs *components) {
	a, m := o.a, o.a.metrics
	st := a.cache.state
	m.localEndpoints.Set(float64(len(st.Workloads)))
	m.clusterHosts.Set(float64(len(st.Nodes)))
	m.prefixesReceived.Set(float64(len(st.Learned)))
	m.mu.Lock()
	m.clusterEndpoints.Set(float64(len(m.weps)))
	if o.pools {
		o.pools = false
		m.setPools(a.cache.pools)
	}
	m.mu.Unlock()
	if !o.ready && cs.converged() {
		o.ready = true
		a.notify.ready()
	}
}

// setPools sums blocks and addresses in use per IP pool (by pool name).
func (m *agentMetrics) setPools(pools map[string]*api.IPPool) {
	type agg struct{ blocks, used int }
	per := map[string]*agg{}
	cidrs := map[string]netip.Prefix{}
	for name, p := range pools {
		if c, err := netip.ParsePrefix(p.Spec.CIDR); err == nil {
			cidrs[name] = c.Masked()
			per[name] = &agg{}
		}
	}
	for blk, used := range m.blockUsed {
		for name, c := range cidrs {
			if c.Overlaps(blk) && c.Bits() <= blk.Bits() {
				per[name].blocks++
				per[name].used += used
				break
			}
		}
	}
	for name := range m.poolLabels {
		if per[name] == nil {
			m.ipamBlocks.DeleteLabelValues(name)
			m.ipamAddresses.DeleteLabelValues(name)
			delete(m.poolLabels, name)
		}
	}
	for name, v := range per {
		m.poolLabels[name] = true
		m.ipamBlocks.WithLabelValues(name).Set(float64(v.blocks))
		m.ipamAddresses.WithLabelValues(name).Set(float64(v.used))
	}
}
