package cni

import (
	"errors"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// dumpRetries bounds retries of netlink dumps the kernel reports as interrupted, which happens
// when links or routes change during the dump (many concurrent ADDs on one host).
const dumpRetries = 5

func retryDump[T any](f func() ([]T, error)) ([]T, error) {
	var out []T
	var err error
	for i := 0; i < dumpRetries; i++ {
		out, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, err
}

// routesTo lists the main-table routes whose destination is exactly p.
func routesTo(h *netlink.Handle, p netip.Prefix) ([]netlink.Route, error) {
	family := netlink.FAMILY_V4
	if p.Addr().Is6() {
		family = netlink.FAMILY_V6
	}
	return retryDump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(family, &netlink.Route{Dst: prefixToIPNet(p)}, netlink.RT_FILTER_DST)
	})
}
