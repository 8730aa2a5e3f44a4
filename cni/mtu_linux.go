package cni

import (
	"context"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	"github.com/vishvananda/netlink"
)

const (
	fallbackMTU   = 1500
	ipipOverhead  = 20
	vxlanOverhead = 50
)

// uplinkMTU is the last resort when neither the conf nor the node agent gives an MTU: the
// MTU of the interface carrying the default route (1500 without one), less the largest
// encapsulation overhead any enabled pool uses, so encapsulated packets still fit.
func uplinkMTU(ctx context.Context, sc *store.Client) int {
	mtu := fallbackMTU
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return netlink.RouteList(nil, netlink.FAMILY_V4)
	})
	if err == nil {
		for _, r := range routes {
			if r.LinkIndex == 0 || r.Table != 254 && r.Table != 0 {
				continue
			}
			if r.Dst != nil {
				if ones, _ := r.Dst.Mask.Size(); ones != 0 {
					continue
				}
			}
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil && l.Attrs().MTU > 0 {
				mtu = l.Attrs().MTU
				break
			}
		}
	}
	return mtu - encapOverhead(ctx, sc)
}

func encapOverhead(ctx context.Context, sc *store.Client) int {
	pools, _, err := store.ListAs[*api.IPPool](ctx, sc, "")
	if err != nil {
		return 0
	}
	over := 0
	for _, p := range pools {
		if p.Spec.Disabled {
			continue
		}
		if p.Spec.VXLANMode != "" && p.Spec.VXLANMode != "Never" {
			over = max(over, vxlanOverhead)
		}
		if p.Spec.IPIPMode != "" && p.Spec.IPIPMode != "Never" {
			over = max(over, ipipOverhead)
		}
	}
	return over
}
