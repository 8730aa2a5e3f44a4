package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// reporter publishes what other hosts and tools read about this agent: Felix's status keys
// (when reportingInterval > 0, calico-model.md §1.4) and a CalicoNodeStatus with the BGP
// sessions, so `brindle get caliconodestatus -o yaml` shows every node's peers from anywhere.
type reporter struct {
	a       *Agent
	started time.Time
	ticker  *time.Ticker
	first   bool
	last    *api.CalicoNodeStatusStatus
}

const reportEvery = 10 * time.Second

func newReporter(a *Agent) *reporter {
	return &reporter{a: a, started: time.Now(), ticker: time.NewTicker(reportEvery), first: true}
}

func (r *reporter) tick() <-chan time.Time { return r.ticker.C }

func (r *reporter) stop() { r.ticker.Stop() }

// report writes both reports; it runs as the loop's status-report component, so a failure
// is retried with backoff and logged once per reason.
func (r *reporter) report(ctx context.Context) error {
	var errs []error
	if err := r.felixStatus(ctx); err != nil {
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
func (r *reporter) felixStatus(ctx context.Context) error {
	fc := r.a.cache.felixConfig()
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
