package node

import (
	"context"
	"fmt"
	"time"

	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// watchPrefixes are the datastore keys the agent follows. Of the affinities it needs only
// its own (what BGP advertises): watching every node's would hold one key per remote block
// in the watcher for nothing.
func watchPrefixes(me string) []string {
	return append([]string{
		store.ResourcePrefix + "nodes/",
		store.ResourcePrefix + "ippools/",
		store.ResourcePrefix + "workloadendpoints/",
		store.ResourcePrefix + "bgppeers/",
		store.ResourcePrefix + "bgpconfigurations/",
		store.ResourcePrefix + "felixconfigurations/",
		store.IPAMPrefix + "assignment/",
		store.IPAMPrefix + "host/" + me + "/",
	}, policyPrefixes()...)
}

// loop is the agent's single event loop: watch batches, learned BGP routes and kernel drift
// only mark components dirty (cheap, no I/O); programming happens in one apply step
// afterwards, so a burst of events costs one apply. Nothing is programmed before the watch
// is in sync: until then the kernel keeps what the previous run left (a restart with the
// datastore down must not flush anything).
func (a *Agent) loop(ctx context.Context) error {
	batches := a.watch(ctx)
	drift := make(chan struct{}, 1)
	kick := func() {
		select {
		case drift <- struct{}{}:
		default:
		}
	}
	if a.dp != nil {
		go func() {
			if err := a.dp.Watch(ctx, kick); err != nil && ctx.Err() == nil {
				a.log.Warn("kernel drift watch stopped; relying on periodic resync", zap.Error(err))
			}
		}()
	}
	go a.tunnelLoop(ctx)
	if a.wg.drv != nil {
		for _, w := range []*wgAgent{&a.wg, &a.wg6} {
			w.publish = make(chan struct{}, 1)
			go a.wireguardLoop(ctx, w)
		}
	}
	if a.opts.AutoHostEndpoint {
		a.autoHEP = make(chan struct{}, 1)
		go a.autoHEPLoop(ctx, a.autoHEP)
	}
	resync := time.NewTicker(90 * time.Second)
	defer resync.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	report := newReporter(a)
	go report.run(ctx)
	comps := a.addComponents()
	obs := a.observeLoop(ctx)
	defer obs.stop()
	comps.observe = a.metrics.componentRan
	inSync := false
	mem := newMemTuner()
	var warm *bgpWarmup
	warmTick := time.NewTicker(time.Second)
	defer warmTick.Stop()
	// Password files are re-read every few seconds (a handful of small files): a rotated
	// secret reaches GoBGP without waiting for the 90 s resync.
	secretTick := time.NewTicker(secretPoll)
	defer secretTick.Stop()
	if a.opts.BGP && a.dp != nil {
		for _, r := range a.kernelRoutes() {
			a.cache.state.SetLearnedRoute(r)
		}
		warm = &bgpWarmup{started: time.Now()}
	}
	for {
		var learned <-chan struct{}
		if a.speaker != nil {
			learned = a.speaker.LearnedReady()
		}
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-batches:
			if !ok {
				return ctx.Err()
			}
			for _, ev := range b.Events {
				a.cache.apply(ev)
				if a.autoHEP != nil && ev.Kind != nil && (ev.Kind.Kind == "Node" && ev.Name == a.name ||
					ev.Kind.Kind == "HostEndpoint" && ev.Name == a.name+AutoHEPSuffix) {
					select {
					case a.autoHEP <- struct{}{}:
					default:
					}
				}
			}
			obs.batch(b)
			if b.InSync {
				a.health.Report("datastore", true, true, "")
			} else {
				a.health.Report("datastore", true, false, "watch broken; re-listing")
			}
			if b.InSync && !inSync {
				report.setFelix(a.cache.felixConfig()) // the first report, once in sync
			}
			inSync = b.InSync
			if a.noteChanges() {
				report.setFelix(a.cache.felixConfig())
			}
		case <-learned:
			for _, r := range a.speaker.DrainLearned() {
				if r.Withdrawn {
					a.cache.state.DeleteLearnedRoute(r.Prefix)
				} else {
					a.cache.state.SetLearnedRoute(calc.LearnedRoute{Dst: r.Prefix, NextHop: r.NextHop})
				}
			}
			a.markDataplane()
		case <-drift:
			a.markDataplane()
		case <-retry.C:
		case <-obs.watchdog:
			a.notify.watchdog()
			continue
		case <-resync.C:
			if a.dp != nil {
				a.dp.MarkResync()
			}
			a.markDataplane()
		case <-secretTick.C:
			if a.cache.secrets == nil || !a.cache.secrets.changed() {
				continue
			}
			a.log.Info("BGP password file changed; updating peers")
			a.comp.bgp.mark()
		case now := <-warmTick.C:
			if warm == nil || a.speaker == nil {
				continue
			}
			if est, conf := a.peerCounts(); warm.done(now, est, conf) {
				a.replaceLearned()
				warm = nil
				a.markDataplane()
			}
		}
		if !inSync {
			continue
		}
		next, ran := comps.runDue(ctx)
		obs.afterRun(comps)
		if ran && comps.converged() {
			mem.afterSync(a.log)
		}
		retry.Stop()
		if !next.IsZero() {
			retry.Reset(time.Until(next))
		}
	}
}

// agentComponents are the loop's components; nil for a role that lacks one.
type agentComponents struct {
	policy, dataplane, bgp, mtu, wireguard, wireguard6 *component
}

// markDataplane marks the kernel-programming components dirty: routes and policy. Policy's
// run is cheap when its model has nothing new and the table is as it was left (syncPolicy
// checks), so it rides on every reason the routes have to run: a resync, drift, a restart.
func (a *Agent) markDataplane() {
	a.comp.policy.mark()
	a.comp.dataplane.mark()
	a.comp.wireguard.mark()
	a.comp.wireguard6.mark()
}

// addComponents creates the loop's components in the order they run. A new one (the
// policy dataplane) is one more add here plus a mark wherever its inputs change.
//
// A component's run happens on the loop's goroutine and so must not wait on the datastore
// (a request to an etcd that is down waits for it); datastore writers (the status report,
// tunnel addresses) run on their own goroutines with the same backoff and logging.
func (a *Agent) addComponents() *components {
	cs := newComponents(a.health, a.log)
	if a.dp != nil && a.cache.pol != nil {
		// Policy first: a policy edit or a new workload's isolation should not wait for
		// route programming (policy and routes do not depend on each other).
		a.comp.policy = cs.add("policy", "policy programming", true, a.syncPolicy)
	}
	if a.dp != nil {
		a.comp.dataplane = cs.add("dataplane", "dataplane programming", true, a.syncDataplane)
	}
	if a.wg.drv != nil {
		// Not gating readiness: a node whose kernel has no WireGuard still routes (its
		// reason is in `brindle node status`).
		a.comp.wireguard = cs.add("wireguard", "WireGuard programming", false,
			func(context.Context) error { return a.syncWireguard(&a.wg) })
		a.comp.wireguard6 = cs.add("wireguard-v6", "IPv6 WireGuard programming", false,
			func(context.Context) error { return a.syncWireguard(&a.wg6) })
	}
	if a.opts.BGP {
		a.comp.bgp = cs.add("bgp", "BGP configuration", true, a.syncBGP)
	}
	a.comp.mtu = cs.add("mtu-file", "writing the MTU file", false, a.writeMTU)
	cs.markAll() // the first sync does everything
	return cs
}

// noteChanges turns the cache's change flags into dirty components. The flags are taken
// here, when the events arrive, and live on as the components' dirty bits until each
// succeeds: a failed BGP sync is retried even if no further event comes. It reports whether
// the FelixConfiguration changed.
func (a *Agent) noteChanges() (felixChanged bool) {
	pools, nodes, bgpChanged, felix := a.cache.takeChanges()
	if pools || nodes {
		a.kickTunnels()
	}
	if pools || nodes || felix {
		a.kickWireguard() // the device address follows the pools and the published key
	}
	if pools || felix {
		a.comp.mtu.mark()
	}
	if bgpChanged {
		a.comp.bgp.mark()
	}
	a.markDataplane()
	return felix
}

// syncDataplane computes the desired kernel state from the cache and applies it.
func (a *Agent) syncDataplane(ctx context.Context) error {
	start := time.Now()
	want := calc.Compute(a.cache.state)
	a.cache.skips.report(a.log, want.Skipped)
	a.desired.set(want)
	err := a.dp.Apply(ctx, want)
	a.metrics.dataplaneApplied(&want, time.Since(start), err)
	a.log.Debug("dataplane applied", zap.Int("routes", len(want.Routes)), zap.Duration("took", time.Since(start)), zap.Error(err))
	if err != nil {
		return fmt.Errorf("programming the dataplane: %w", err)
	}
	return nil
}
