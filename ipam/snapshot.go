package ipam

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// requestView is everything an AutoAssign reads before its first write: the node's labels,
// the IPAM config, reservations, pools and the host's affinities of both families. It comes
// from one transaction of range reads, so one round trip at one revision instead of six. The
// saving is mostly CPU (client and server work per request), which is what 100 plugin
// processes started at once on a small host run short of.
type requestView struct {
	labels   map[string]string
	cfg      Config
	reserved func(netip.Addr) bool
	pools    []*pool
	affs     [2][]affRef // [0] IPv4, [1] IPv6
	affRev   int64
}

func (a *Allocator) readRequestView(ctx context.Context, host string) (*requestView, error) {
	ops := viewOps(host)
	resp, err := a.c.Etcd().Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, fmt.Errorf("reading IPAM state for %s: %w", host, err)
	}
	return a.parseView(host, resp, 0)
}

// viewOps are the range reads of a request view, in the order parseView expects them.
func viewOps(host string) []clientv3.Op {
	kind := func(name string) *api.KindInfo {
		k, _ := api.LookupKind(name)
		return k
	}
	nodeK, poolK, resK := kind("Node"), kind("IPPool"), kind("IPReservation")
	ops := []clientv3.Op{
		clientv3.OpGet(store.ResourceKey(nodeK, "", host)),
		clientv3.OpGet(store.IPAMConfigKey),
		clientv3.OpGet(store.ListPrefix(poolK, ""), clientv3.WithPrefix()),
		clientv3.OpGet(store.AffinityPrefix(host, famName(false)), clientv3.WithPrefix()),
		clientv3.OpGet(store.AffinityPrefix(host, famName(true)), clientv3.WithPrefix()),
	}
	if resK != nil {
		ops = append(ops, clientv3.OpGet(store.ListPrefix(resK, ""), clientv3.WithPrefix()))
	}
	return ops
}

// parseView decodes the responses of viewOps, which start at index first of resp.
func (a *Allocator) parseView(host string, resp *clientv3.TxnResponse, first int) (*requestView, error) {
	resK, _ := api.LookupKind("IPReservation")
	kvs := func(i int) []store.KV {
		rr := resp.Responses[first+i].GetResponseRange()
		out := make([]store.KV, len(rr.Kvs))
		for j, kv := range rr.Kvs {
			out[j] = store.KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}
		}
		return out
	}
	v := &requestView{cfg: Config{AutoAllocateBlocks: true}, affRev: resp.Header.Revision}
	if n := kvs(0); len(n) > 0 {
		// A node record that does not decode has no labels to offer: pools that select on
		// labels then skip this host, pools for all() still serve it.
		var nv nodeView
		if err := json.Unmarshal(n[0].Value, &nv); err != nil {
			a.c.ReportBroken(n[0].Key, n[0].ModRevision, err)
		}
		v.labels = nv.Metadata.Labels
	}
	if c := kvs(1); len(c) > 0 {
		v.cfg = a.parseConfig(c[0])
	}
	for _, kv := range kvs(2) {
		var ip api.IPPool
		if err := json.Unmarshal(kv.Value, &ip); err != nil {
			a.c.ReportBroken(kv.Key, kv.ModRevision, err)
			continue
		}
		p, err := toPool(&ip)
		if err != nil {
			a.c.ReportBroken(kv.Key, kv.ModRevision, err)
			continue
		}
		v.pools = append(v.pools, p)
	}
	for f, v6 := range []bool{false, true} {
		v.affs[f] = a.parseAffinities(store.AffinityPrefix(host, famName(v6)), kvs(3+f))
	}
	if resK != nil {
		var nets []netip.Prefix
		for _, kv := range kvs(5) {
			// A reservation that does not decode reserves nothing: reporting it beats
			// failing every allocation in the cluster.
			var rv reservationView
			if err := json.Unmarshal(kv.Value, &rv); err != nil {
				a.c.ReportBroken(kv.Key, kv.ModRevision, err)
				continue
			}
			for _, s := range rv.Spec.ReservedCIDRs {
				p, err := parseCIDROrIP(s)
				if err != nil {
					a.c.ReportBroken(kv.Key, kv.ModRevision, fmt.Errorf("IPReservation %q: spec.reservedCIDRs: %w", keyName(kv.Key), err))
					continue
				}
				nets = append(nets, p)
			}
		}
		v.reserved = reservedFunc(nets)
	}
	return v, nil
}

func keyName(key string) string { return key[strings.LastIndex(key, "/")+1:] }
