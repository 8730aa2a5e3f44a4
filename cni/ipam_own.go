package cni

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/ipam"
	"github.com/containernetworking/cni/pkg/types"
)

// ownIPAM is brindle's block allocator, run in this process: no second process start and no
// second datastore connection per container (most of Calico's ~100 ms per ADD).
type ownIPAM struct{}

func (ownIPAM) assign(ctx context.Context, r *ipamRequest) (assigned, error) {
	a := r.allocator()
	h := r.handle()
	// A repeated ADD finds the addresses of the first one under the same handle.
	var have []netip.Addr
	var err error
	if r.pre == nil || r.pre.HandleExists() {
		have, err = a.IPsByHandle(ctx, h)
	}
	if err != nil {
		return assigned{}, wrapErr(ErrIPAM, fmt.Errorf("looking up IPAM handle %s: %w", h, err), "")
	}
	if len(have) > 0 {
		out := assigned{}
		for _, ip := range have {
			out.ips = append(out.ips, netip.PrefixFrom(ip, ip.BitLen()))
		}
		return out, nil
	}
	if r.args.IP != "" {
		ip, err := netip.ParseAddr(r.args.IP)
		if err != nil {
			return assigned{}, newError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf("CNI_ARGS: IP %q is not an IP address", r.args.IP), "")
		}
		if err := a.AssignIP(ctx, ipam.AssignIPArgs{IP: ip, HandleID: h, Attrs: r.attrs(), Hostname: r.node}); err != nil {
			return assigned{}, wrapErr(ErrIPAM, fmt.Errorf("assigning requested address %s: %w", ip, err), "")
		}
		return assigned{ips: []netip.Prefix{netip.PrefixFrom(ip, ip.BitLen())}, fresh: true}, nil
	}
	v4, v6 := r.conf.families()
	args := ipam.AutoAssignArgs{
		HandleID:    h,
		Attrs:       r.attrs(),
		Hostname:    r.node,
		IPv4Pools:   r.conf.IPAM.IPv4Pools,
		IPv6Pools:   r.conf.IPAM.IPv6Pools,
		IntendedUse: "Workload",
		Prefetched:  r.pre,
		Also:        r.also,
	}
	if v4 {
		args.Num4 = 1
	}
	if v6 {
		args.Num6 = 1
	}
	got4, got6, err := a.AutoAssign(ctx, args)
	if err == nil && (len(got4) < args.Num4 || len(got6) < args.Num6) {
		err = fmt.Errorf("asked for %d IPv4 and %d IPv6 addresses, got %d and %d", args.Num4, args.Num6, len(got4), len(got6))
	}
	if err != nil {
		// Whatever one family got is released when the other failed, as calico-ipam does.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
		_ = a.ReleaseByHandle(uctx, h)
		cancel()
		return assigned{}, wrapErr(ErrIPAM, fmt.Errorf("assigning addresses for %s: %w", h, err),
			"add or enlarge an IPPool (brindle get ippools), or free addresses (brindle ipam gc)")
	}
	return assigned{ips: append(got4, got6...), fresh: true}, nil
}

func (ownIPAM) release(ctx context.Context, r *ipamRequest) error {
	a := ipam.New(r.sc, ipam.Options{Logger: r.log})
	if err := a.ReleaseByHandle(ctx, r.handle()); err != nil {
		return wrapErr(ErrIPAM, fmt.Errorf("releasing IPAM handle %s: %w", r.handle(), err), "")
	}
	return nil
}
