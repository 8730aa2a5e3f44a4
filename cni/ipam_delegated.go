package cni

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// delegatedIPAM runs another IPAM plugin (host-local, static, ...) found through CNI_PATH,
// exactly as the spec says a plugin delegates.
type delegatedIPAM struct{}

func (delegatedIPAM) assign(ctx context.Context, r *ipamRequest) (assigned, error) {
	conf, err := resolvePodCIDR(ctx, r)
	if err != nil {
		return assigned{}, err
	}
	res, err := invoke.DelegateAdd(ctx, r.conf.IPAM.Type, conf, nil)
	if err != nil {
		return assigned{}, wrapErr(ErrDelegation, fmt.Errorf("IPAM plugin %s: %w", r.conf.IPAM.Type, err), "")
	}
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		return assigned{}, newError(ErrDelegation, fmt.Sprintf("IPAM plugin %s returned an unusable result: %v", r.conf.IPAM.Type, err), "")
	}
	var out assigned
	out.fresh = true
	for _, ip := range cur.IPs {
		a, ok := netip.AddrFromSlice(ip.Address.IP)
		if !ok {
			continue
		}
		ones, _ := ip.Address.Mask.Size()
		out.ips = append(out.ips, netip.PrefixFrom(a.Unmap(), ones))
	}
	if len(out.ips) == 0 {
		// The delegate holds a reservation we cannot use; give it back before failing.
		_ = invoke.DelegateDel(ctx, r.conf.IPAM.Type, conf, nil)
		return assigned{}, newError(ErrDelegation, fmt.Sprintf("IPAM plugin %s returned no addresses", r.conf.IPAM.Type), "")
	}
	return out, nil
}

func (delegatedIPAM) release(ctx context.Context, r *ipamRequest) error {
	conf, err := resolvePodCIDR(ctx, r)
	if err != nil {
		return err
	}
	if err := invoke.DelegateDel(ctx, r.conf.IPAM.Type, conf, nil); err != nil {
		return wrapErr(ErrDelegation, fmt.Errorf("IPAM plugin %s: %w", r.conf.IPAM.Type, err), "")
	}
	return nil
}

const (
	usePodCIDR   = "usePodCidr"
	usePodCIDRv6 = "usePodCidrIPv6"
)

// resolvePodCIDR replaces host-local's subnet "usePodCidr" / "usePodCidrIPv6" (in ipam.subnet
// or ipam.ranges) with this node's pod CIDR from the Node resource, as Calico does with the
// Kubernetes Node. The conf is otherwise passed on unchanged.
func resolvePodCIDR(ctx context.Context, r *ipamRequest) ([]byte, error) {
	uses := r.conf.IPAM.Subnet == usePodCIDR || r.conf.IPAM.Subnet == usePodCIDRv6
	for _, set := range r.conf.IPAM.Ranges {
		for _, rg := range set {
			uses = uses || rg.Subnet == usePodCIDR || rg.Subnet == usePodCIDRv6
		}
	}
	if !uses {
		return r.stdin, nil
	}
	if r.sc == nil {
		return nil, newError(ErrDatastore, "ipam.subnet usePodCidr needs the datastore, which is not connected", "")
	}
	cidrs, err := nodePodCIDRs(ctx, r.sc, r.node)
	if err != nil {
		return nil, wrapErr(ErrDatastore, fmt.Errorf("ipam.subnet usePodCidr: %w", err), "")
	}
	pick := func(want string) (string, error) {
		for _, c := range cidrs {
			p, err := netip.ParsePrefix(c)
			if err == nil && p.Addr().Is6() == (want == usePodCIDRv6) {
				return p.String(), nil
			}
		}
		return "", newError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipam.subnet %s: node %q has no matching pod CIDR in status.podCIDRs (%v)", want, r.node, cidrs),
			"set status.podCIDRs on the Node resource, or give ipam.subnet a CIDR")
	}
	var doc map[string]any
	if err := json.Unmarshal(r.stdin, &doc); err != nil {
		return nil, err
	}
	ipam, _ := doc["ipam"].(map[string]any)
	replace := func(m map[string]any) error {
		if s, _ := m["subnet"].(string); s == usePodCIDR || s == usePodCIDRv6 {
			v, err := pick(s)
			if err != nil {
				return err
			}
			m["subnet"] = v
		}
		return nil
	}
	if err := replace(ipam); err != nil {
		return nil, err
	}
	if sets, ok := ipam["ranges"].([]any); ok {
		for _, set := range sets {
			rs, _ := set.([]any)
			for _, rg := range rs {
				if m, ok := rg.(map[string]any); ok {
					if err := replace(m); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return json.Marshal(doc)
}
