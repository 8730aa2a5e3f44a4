package node

import (
	"net/netip"
	"time"

	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/vishvananda/netlink"
)

// After an agent restart the speaker knows no routes until its sessions are back, and a
// naive first apply would delete every BGP route in the kernel: traffic to remote blocks
// would stop for the seconds sessions take to re-establish. So the agent starts from the
// routes it left in the kernel (protocol bird) and switches to the speaker's view only once
// every configured peer is Established and has had a moment to send its table, or after
// warmMax at the latest. This is the receiving half of graceful restart; the peers do the
// other half (they keep our routes because we exit without a NOTIFICATION).

const (
	warmSettle = 3 * time.Second
	warmMax    = 60 * time.Second
)

type bgpWarmup struct {
	started  time.Time
	lastUp   time.Time
	lastUpN  int
	finished bool
}

// kernelBGPRoutes reads the routes a previous run programmed from BGP.
func kernelBGPRoutes() []calc.LearnedRoute {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: dataplane.ProtoBGP, Table: 254},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil
	}
	var out []calc.LearnedRoute
	for _, r := range routes {
		if r.Dst == nil || r.Gw == nil {
			continue
		}
		dst, ok1 := netip.AddrFromSlice(r.Dst.IP)
		gw, ok2 := netip.AddrFromSlice(r.Gw)
		if !ok1 || !ok2 {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		out = append(out, calc.LearnedRoute{Dst: netip.PrefixFrom(dst.Unmap(), ones), NextHop: gw.Unmap()})
	}
	return out
}

// done reports whether the speaker's view can replace the seeded routes now.
func (w *bgpWarmup) done(now time.Time, established, configured int) bool {
	if w.finished {
		return true
	}
	if established != w.lastUpN {
		w.lastUpN, w.lastUp = established, now
	}
	switch {
	case now.Sub(w.started) >= warmMax:
	case configured > 0 && established == configured && now.Sub(w.lastUp) >= warmSettle:
	case configured == 0 && now.Sub(w.started) >= warmSettle:
	default:
		return false
	}
	w.finished = true
	return true
}
