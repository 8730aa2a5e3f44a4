package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// reporter publishes what other hosts and tools read about this agent: Felix's status keys
// (when reportingInterval > 0, calico-model.md §1.4) and a CalicoNodeStatus with the BGP
// sessions, so `brindle get caliconodestatus -o yaml` shows every node's peers from anywhere.
// It runs on its own goroutine: its writes go to etcd, and a request to an etcd that is
// down waits for it, which must never stall the event loop (learned routes, drift).
type reporter struct {
	a       *Agent
	started time.Time
	first   bool
	last    *api.CalicoNodeStatusStatus
	felix   atomic.Pointer[api.FelixConfigurationSpec] // set by the loop; nil until in sync
	kick    chan struct{}
}

const reportEvery = 10 * time.Second

func newReporter(a *Agent) *reporter {
	return &reporter{a: a, started: time.Now(), first: true, kick: make(chan struct{}, 1)}
}

// setFelix hands the reporter the effective FelixConfiguration (from the loop, which owns
// the cache) and asks for a report.
func (r *reporter) setFelix(fc api.FelixConfigurationSpec) {
	r.felix.Store(&fc)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run reports every reportEvery once the loop is in sync, retrying a failure with backoff
// and logging it once per reason.
func (r *reporter) run(ctx context.Context) {
	tick := time.NewTicker(reportEvery)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var b backoff
	fail := failureLog{log: r.a.log.With(zap.String("component", "status-report")), what: "status report"}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-retry.C:
		case <-r.kick:
		}
		fc := r.felix.Load()
		if fc == nil {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, datastoreAttempt)
		err := r.report(rctx, *fc)
		cancel()
		if ctx.Err() != nil {
			return
		}
		retry.Stop()
		if err == nil {
			b.reset()
			fail.succeeded()
			r.a.health.Report("status-report", true, true, "")
			continue
		}
		d := b.failed()
		fail.failed(err, d)
		// Not a readiness matter: nothing on this host depends on the report.
		r.a.health.Report("status-report", true, true, err.Error())
		retry.Reset(d)
	}
}

// report writes both reports.
func (r *reporter) report(ctx context.Context, fc api.FelixConfigurationSpec) error {
	var errs []error
	if err := r.felixStatus(ctx, fc); err != nil {
		errs = append(errs, fmt.Errorf("felix status: %w", err))
	}
	if r.a.opts.BGP {
		if err := r.nodeStatus(ctx); err != nil {
			errs = append(errs, fmt.Errorf("node status: %w", err))
		}
	}
	return errors.Join(errs...)
}

// felixStatus writes status (with a TTL lease) and last_reported_status, as Felix does.
func (r *reporter) felixStatus(ctx context.Context, fc api.FelixConfigurationSpec) error {
	if fc.ReportingInterval == nil || fc.ReportingInterval.Duration <= 0 {
		return nil
	}
	ttl := 90 * time.Second
	if fc.ReportingTTL != nil && fc.ReportingTTL.Duration > 0 {
		ttl = fc.ReportingTTL.Duration
	}
	v, _ := json.Marshal(map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339), "uptime": time.Since(r.started).Seconds(), "first_update": r.first,
	})
	r.first = false
	prefix := store.FelixPrefix + "no-region/host/" + r.a.name + "/"
	ec := r.a.store.Etcd()
	lease, err := ec.Grant(ctx, int64(ttl.Seconds()))
	if err != nil {
		return err
	}
	if _, err := ec.Put(ctx, prefix+"status", string(v), clientv3.WithLease(lease.ID)); err != nil {
		return err
	}
	_, err = ec.Put(ctx, prefix+"last_reported_status", string(v))
	return err
}

// nodeStatus keeps caliconodestatuses/<node> current, writing only when something changed.
func (r *reporter) nodeStatus(ctx context.Context) error {
	st := r.a.status.Status()
	out := &api.CalicoNodeStatusStatus{BGP: &api.CalicoNodeBGP{}}
	for _, p := range st.Peers {
		peer := api.CalicoNodePeer{PeerIP: p.Address.String(), Type: string(p.Type), State: p.State, Since: p.Since.UTC().Format(time.RFC3339)}
		est := p.Info == "Established"
		if p.Address.Is4() {
			out.BGP.PeersV4 = append(out.BGP.PeersV4, peer)
			if est {
				out.BGP.NumberEstablishedV4++
			} else {
				out.BGP.NumberNotEstablishedV4++
			}
		} else {
			out.BGP.PeersV6 = append(out.BGP.PeersV6, peer)
			if est {
				out.BGP.NumberEstablishedV6++
			} else {
				out.BGP.NumberNotEstablishedV6++
			}
		}
	}
	if st.RouterID.IsValid() {
		out.Agent = &api.CalicoNodeAgent{BIRDV4: &api.BGPDaemonStatus{State: "Ready", Version: "brindle (GoBGP)", RouterID: st.RouterID.String(),
			LastBootTime: r.started.UTC().Format(time.RFC3339)}}
	}
	if r.last != nil && reflect.DeepEqual(r.last, out) {
		return nil
	}
	now := time.Now().UTC().Format(time.RFC3339)
	cur, err := store.GetAs[*api.CalicoNodeStatus](ctx, r.a.store, "", r.a.name)
	if errors.Is(err, store.ErrNotFound) {
		cur = &api.CalicoNodeStatus{ObjectMeta: api.ObjectMeta{Name: r.a.name}}
		cur.Spec.Node = r.a.name
		cur.Spec.Classes = []string{"Agent", "BGP"}
		cur.Status = *out
		cur.Status.LastUpdated = now
		_, err = r.a.store.Create(ctx, cur)
	} else if err == nil {
		cur.Status = *out
		cur.Status.LastUpdated = now
		_, err = r.a.store.Update(ctx, cur)
	}
	if err == nil {
		r.last = out
	}
	return err
}
