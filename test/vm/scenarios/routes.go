package scenarios

import (
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// protoBird is iproute2's "bird" (RTPROT_BIRD): Calico nodes show BGP-learned routes with it,
// and so does brindle.
const protoBird = 12

// checkIPIPRoutes wants, on every container's host, a blackhole for its own block and
// `<block> via <host> dev tunl0 onlink` (learned over BGP) for every other container's block.
func checkIPIPRoutes(t *testing.T, c *cluster.Cluster, cts []*cluster.Container) {
	t.Helper()
	blocks := map[*cluster.Container]netip.Prefix{}
	for _, ct := range cts {
		blocks[ct] = blockOf(t, c, ct)
	}
	for _, a := range cts {
		r := waitRoute(t, c, a.Host, blocks[a], "blackhole for its own block", func(r cluster.Route, ok bool) bool {
			return ok && r.Blackhole
		})
		t.Logf("%s: %s", a.Host, r)
		for _, b := range cts {
			if b.Host == a.Host {
				continue
			}
			gw := hostIP(c, b.Host)
			r := waitRoute(t, c, a.Host, blocks[b], "IPIP route to "+b.Host+"'s block", func(r cluster.Route, ok bool) bool {
				return ok && r.Gw == gw && r.Dev == "tunl0" && r.OnLink && r.Proto == protoBird
			})
			t.Logf("%s: %s", a.Host, r)
		}
	}
}

// wantRoute describes the route one host must have to another host's block.
func viaTunl0(gw netip.Addr) func(cluster.Route, bool) bool {
	return func(r cluster.Route, ok bool) bool { return ok && r.Gw == gw && r.Dev == "tunl0" && r.OnLink }
}

func viaUplink(gw netip.Addr) func(cluster.Route, bool) bool {
	return func(r cluster.Route, ok bool) bool { return ok && r.Gw == gw && r.Dev == "eth0" && !r.OnLink }
}
