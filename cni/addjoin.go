package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
)

// With brindle's own IPAM a fresh ADD makes two etcd requests (bench/cni/README.md): one
// read transaction with everything ADD and IPAM need first, and one write transaction that
// takes the address, counts it in the handle and creates the WorkloadEndpoint.

// loadJoined is addReads.load for own IPAM: readiness, this workload's endpoint, the
// network's profile, the handle and IPAM's request view, in one transaction at one revision.
func (r *addReads) loadJoined(ctx context.Context, sc *store.Client, c *call) error {
	keys := []string{resourceKey("WorkloadEndpoint", c.id.Namespace, c.id.Name)}
	profile := c.needsProfile() && c.conf.Name != store.DefaultAllowProfile
	if profile {
		keys = append(keys, resourceKey("Profile", "", c.conf.Name))
	}
	pre, err := prefetchReady(ctx, sc, c, keys...)
	if err != nil {
		return err
	}
	if kv := pre.Extra(1); kv != nil {
		// A record that does not decode only means ADD does not take the repeated-ADD
		// shortcut (and writes the endpoint on its own, replacing it).
		var w wepDoc
		if json.Unmarshal(kv.Value, &w) == nil {
			w.Metadata.ResourceVersion = strconv.FormatInt(kv.ModRevision, 10)
			r.wep = &w
		} else {
			r.wep = &wepDoc{}
		}
	}
	r.profileFound = !c.needsProfile() || !profile || pre.Extra(2) != nil
	r.pre = pre
	return nil
}

// prefetchReady reads IPAM's first reads and the caller's extra keys (from Extra(1) on) with
// clusterinformations/default (Extra(0)), and refuses a datastore that is not ready.
func prefetchReady(ctx context.Context, sc *store.Client, c *call, extra ...string) (*ipam.Prefetched, error) {
	keys := append([]string{resourceKey("ClusterInformation", "", "default")}, extra...)
	pre, err := ipam.New(sc, ipam.Options{Logger: c.log}).Prefetch(ctx, c.node, handleID(c.conf.Name, c.args.ContainerID), keys...)
	if err != nil {
		return nil, wrapErr(ErrDatastore, err, "")
	}
	var ci clusterInfoDoc
	ciKV := pre.Extra(0)
	if ciKV != nil {
		if err := json.Unmarshal(ciKV.Value, &ci); err != nil {
			return nil, newError(ErrDatastore, "reading clusterinformations/default: "+err.Error(), "")
		}
	}
	return pre, readyVerdict(ciKV != nil, ci)
}

// wepAlso is the endpoint as an IPAM Also: created, if absent, in the write that takes the
// addresses, with the addresses it took.
func wepAlso(ctx context.Context, sc *store.Client, c *call, mac string) *ipam.Also {
	return &ipam.Also{Build: func(ips []netip.Prefix) (string, []byte, error) {
		w := c.newEndpoint(mac, hostPrefixes(ips))
		res, err := toResource("WorkloadEndpoint", w)
		var op store.Op
		if err == nil {
			op, err = sc.CreateOp(ctx, res)
		}
		if err != nil {
			// The same error as a write of its own would give (not an IPAM failure).
			return "", nil, wrapErr(ErrDatastore, fmt.Errorf("writing WorkloadEndpoint %s/%s: %w", c.id.Namespace, c.id.Name, err), "")
		}
		return op.Key, op.Value, nil
	}}
}

// resourceKey is where a resource of a registered kind is stored.
func resourceKey(kind, namespace, name string) string {
	k, _ := api.LookupKind(kind)
	return store.ResourceKey(k, namespace, name)
}
