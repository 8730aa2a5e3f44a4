package nodebench

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/brindle-net/brindle/bench/internal/benchutil"
)

// BenchmarkAgentColdStartIPv6 is the IPv6 twin of BenchmarkAgentColdStart's noencap rows:
// per size, the IPv4 run and then the IPv6 run (remote /122 blocks of an IPv6 pool, routed
// via the remote nodes' bgp.ipv6Address) in the same process, and their ratios. The target
// (issue 13): IPv6 within 1.2x of IPv4 for all routes and for RSS.
func BenchmarkAgentColdStartIPv6(b *testing.B) {
	type pair struct{ v4, v6 coldResult }
	var rows []pair
	for _, n := range coldSizes() {
		var p pair
		b.Run(fmt.Sprintf("ipv4-%d", n), func(b *testing.B) { p.v4 = coldStart(b, "noencap", n) })
		b.Run(fmt.Sprintf("ipv6-%d", n), func(b *testing.B) { p.v6 = coldStart(b, "noencap6", n) })
		rows = append(rows, p)
	}
	var out [][]string
	for _, p := range rows {
		rss := "-"
		if p.v4.rssKiB > 0 {
			rss = fmt.Sprintf("%.2fx", float64(p.v6.rssKiB)/float64(p.v4.rssKiB))
		}
		out = append(out, []string{strconv.Itoa(p.v4.remotes),
			ms(p.v4.routes), ms(p.v6.routes), ratio(p.v6.routes, p.v4.routes),
			ms(p.v4.cpuStart), ms(p.v6.cpuStart),
			fmt.Sprintf("%.1f", float64(p.v4.rssKiB)/1024), fmt.Sprintf("%.1f", float64(p.v6.rssKiB)/1024), rss,
			ms(p.v4.bare), ms(p.v6.bare),
			ms(p.v4.change.p50), ms(p.v6.change.p50)})
	}
	benchutil.Table("Agent cold start, IPv6 blocks against IPv4 blocks (node run --bgp=false, no encapsulation)",
		[]string{"remotes", "v4 all routes ms", "v6 all routes ms", "v6/v4", "v4 CPU ms", "v6 CPU ms",
			"v4 RSS MiB", "v6 RSS MiB", "v6/v4 RSS", "v4 bare netlink ms", "v6 bare netlink ms",
			"v4 change p50 ms", "v6 change p50 ms"}, out)
}
