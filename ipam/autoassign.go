package ipam

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"time"
)

// AutoAssignArgs is one request for addresses (Calico's AutoAssignArgs).
type AutoAssignArgs struct {
	Num4, Num6 int
	HandleID   string
	Attrs      map[string]string
	Hostname   string
	// IPv4Pools / IPv6Pools restrict the request to these pools (CIDRs or names); node
	// selectors are then ignored, as in Calico.
	IPv4Pools, IPv6Pools []string
	IntendedUse          string // UseWorkload (default) or UseTunnel
	// Prefetched, if set, is what Prefetch read for this host and handle: AutoAssign then
	// starts writing without reading first.
	Prefetched *Prefetched
	// Also, if set, is created in the transaction that takes the request's last address.
	Also *Also
}

// TimestampLayout is how Calico writes the "timestamp" attribute (time.Time.String in UTC).
const TimestampLayout = "2006-01-02 15:04:05.999999999 -0700 MST"

// AutoAssign allocates Num4 IPv4 and Num6 IPv6 addresses for HandleID on Hostname. Each
// address comes back with its block's mask, as calico-ipam returns it. It is all or
// nothing: on any error, addresses it already took are released again.
func (a *Allocator) AutoAssign(ctx context.Context, args AutoAssignArgs) (v4, v6 []netip.Prefix, err error) {
	if err := args.validate(); err != nil {
		return nil, nil, err
	}
	attrs := a.withDefaultAttrs(args.Attrs, args.Hostname)
	// Most requests use a new handle: guess it absent and let the CAS correct a wrong guess.
	hint := &handleHint{known: true}
	var view *requestView
	if p := args.Prefetched; p != nil && p.view != nil && p.host == args.Hostname {
		view, hint.kv = p.view, p.handle
	} else if view, err = a.readRequestView(ctx, args.Hostname); err != nil {
		return nil, nil, err
	}
	labels, all := view.labels, view.pools
	var also *alsoState
	if args.Also != nil {
		args.Also.Created = false
		also = &alsoState{spec: args.Also}
	}
	defer func() {
		if err != nil {
			a.rollback(ctx, args.HandleID, append(v4, v6...))
			v4, v6 = nil, nil
		}
	}()
	for f, fam := range []struct {
		v6    bool
		num   int
		pools []string
		out   *[]netip.Prefix
	}{{false, args.Num4, args.IPv4Pools, &v4}, {true, args.Num6, args.IPv6Pools, &v6}} {
		if fam.num == 0 {
			continue
		}
		pools, err := choosePools(all, poolQuery{v6: fam.v6, requested: fam.pools, labels: labels, use: args.IntendedUse})
		if err != nil {
			return v4, v6, err
		}
		req := famRequest{host: args.Hostname, handle: args.HandleID, attrs: attrs, v6: fam.v6,
			num: fam.num, pools: pools, cfg: view.cfg, reserved: view.reserved, selectedPools: len(fam.pools) == 0,
			allPools: all, labels: labels, hint: hint, affs: view.affs[f], affRev: view.affRev}
		if also != nil && (fam.v6 || args.Num6 == 0) {
			also.prior = v4 // the last family requested completes the request
			req.also = also
		}
		got, err := a.assignFamily(ctx, req)
		*fam.out = append(*fam.out, got...)
		if err != nil {
			return v4, v6, err
		}
	}
	return v4, v6, nil
}

func (args *AutoAssignArgs) validate() error {
	switch {
	case args.Hostname == "":
		return errors.New("Hostname: is required")
	case args.HandleID == "":
		return errors.New("HandleID: is required")
	case args.Num4 < 0 || args.Num6 < 0:
		return fmt.Errorf("Num4/Num6: must not be negative (got %d/%d)", args.Num4, args.Num6)
	case args.Num4 == 0 && args.Num6 == 0:
		return errors.New("Num4/Num6: at least one address must be requested")
	}
	if args.IntendedUse == "" {
		args.IntendedUse = UseWorkload
	}
	if args.IntendedUse != UseWorkload && args.IntendedUse != UseTunnel {
		return fmt.Errorf("IntendedUse: must be %s or %s (got %q)", UseWorkload, UseTunnel, args.IntendedUse)
	}
	return nil
}

// withDefaultAttrs adds node and timestamp when the caller did not: garbage collection needs
// both to tell a leak from an allocation whose owner is still being set up.
func (a *Allocator) withDefaultAttrs(in map[string]string, host string) map[string]string {
	out := maps.Clone(in)
	if out == nil {
		out = map[string]string{}
	}
	if _, ok := out[AttrNode]; !ok && host != "" {
		out[AttrNode] = host
	}
	if _, ok := out[AttrTimestamp]; !ok {
		out[AttrTimestamp] = a.opts.Now().UTC().String()
	}
	return out
}

// rollback releases what a failed request took, even when its context is already cancelled.
func (a *Allocator) rollback(ctx context.Context, handle string, got []netip.Prefix) {
	if len(got) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	opts := make([]ReleaseOptions, len(got))
	for i, p := range got {
		opts[i] = ReleaseOptions{Address: p.Addr(), Handle: handle}
	}
	if _, err := a.ReleaseIPs(rctx, opts...); err != nil {
		a.log.Warnw("rolling back a partial allocation failed; gc will reclaim it", "handle", handle, "error", err)
	}
}
