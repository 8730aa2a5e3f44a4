package node

import (
	"context"
	"errors"
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
// only mark state dirty (cheap, no I/O); programming happens in one sync step afterwards, so
// a burst of events costs one apply.
func (a *Agent) loop(ctx context.Context) error {
	batches := a.store.Watch(ctx, store.WatchOptions{Prefixes: watchPrefixes(a.name)})
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
	resync := time.NewTicker(90 * time.Second)
	defer resync.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	report := newReporter(a)
	inSync, dirty := false, false
	mem := newMemTuner()
	var warm *bgpWarmup
	warmTick := time.NewTicker(time.Second)
	defer warmTick.Stop()
	if a.opts.BGP && a.dp != nil {
		for _, r := range kernelBGPRoutes() {
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
			}
			if !b.InSync {
				a.health.Report("datastore", true, false, "watch broken; re-listing")
			}
			inSync = b.InSync
			dirty = true
		case <-learned:
			for _, r := range a.speaker.DrainLearned() {
				if r.Withdrawn {
					a.cache.state.DeleteLearnedRoute(r.Prefix)
				} else {
					a.cache.state.SetLearnedRoute(calc.LearnedRoute{Dst: r.Prefix, NextHop: r.NextHop})
				}
			}
			dirty = true
		case <-drift:
			dirty = true
		case <-retry.C:
			dirty = true
		case <-resync.C:
			if a.dp != nil {
				a.dp.MarkResync()
			}
			dirty = true
		case <-report.tick():
			report.report(ctx)
		case now := <-warmTick.C:
			if warm == nil || a.speaker == nil {
				continue
			}
			if est, conf := a.peerCounts(); warm.done(now, est, conf) {
				a.replaceLearned()
				warm = nil
				dirty = true
			}
		}
		if !dirty || !inSync {
			continue
		}
		dirty = false
		if err := a.sync(ctx); err != nil {
			a.log.Warn("programming incomplete; retrying", zap.Error(err))
			retry.Reset(retryAfter)
		} else {
			mem.afterSync(a.log)
		}
	}
}

// sync programs everything the cache's changes call for.
func (a *Agent) sync(ctx context.Context) error {
	pools, nodes, bgpChanged, felix := a.cache.takeChanges()
	if pools || nodes {
		a.kickTunnels()
	}
	if pools || felix {
		a.writeMTU()
	}
	var err error
	if a.dp != nil {
		start := time.Now()
		want := calc.Compute(a.cache.state)
		err = a.dp.Apply(ctx, want)
		a.log.Debug("dataplane applied", zap.Int("routes", len(want.Routes)), zap.Duration("took", time.Since(start)), zap.Error(err))
		if err == nil {
			a.health.Report("dataplane", true, true, "")
		} else {
			a.health.Report("dataplane", true, true, err.Error())
		}
	}
	err = errors.Join(err, a.syncPolicy(ctx))
	a.health.Report("datastore", true, true, "")
	if a.opts.BGP && bgpChanged {
		if berr := a.syncBGP(ctx); berr != nil {
			a.health.Report("bgp", true, false, berr.Error())
			return berr
		}
		a.health.Report("bgp", true, true, "")
	}
	return err
}
