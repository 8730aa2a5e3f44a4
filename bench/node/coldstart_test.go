package nodebench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// coldResult is one row of BenchmarkAgentColdStart.
type coldResult struct {
	mode             string
	remotes          int
	write            time.Duration // writing the records (setup, for context)
	ready, routes    time.Duration // agent start -> /readiness, -> every remote route announced
	rssKiB, hwmKiB   int64
	cpuStart         time.Duration // agent CPU time when every route was there
	cpuChange        time.Duration // agent CPU time per single change
	list, bare       time.Duration // baselines: one etcd list, bare netlink programming
	change           stats         // etcd write of one more node -> its route announced
	watch            stats         // baseline: etcd write -> delivery on a bare watch
	lostNotification int
}

// coldSizes are the remote node counts; BNB_SIZES=1000,10000 style overrides them.
func coldSizes() []int {
	if s := os.Getenv("BNB_SIZES"); s != "" {
		var out []int
		for _, f := range splitComma(s) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	return []int{0, 1000, 10000}
}

// BenchmarkAgentColdStart: N remote nodes (Node + /26 block + affinity each) are written
// straight into etcd, then `brindle node run --bgp=false` starts on a fresh host and we time
// until every remote route is in the kernel (from the netlink announcements), read the
// agent's VmRSS, and time 20 single changes on top (one more node written -> its route). The
// baselines are one etcd list of everything, the same kernel state written by bare netlink
// requests in a sibling namespace, and etcd write -> bare watch delivery.
func BenchmarkAgentColdStart(b *testing.B) {
	var rows []coldResult
	for _, mode := range []string{"vxlan", "noencap"} {
		for _, n := range coldSizes() {
			b.Run(fmt.Sprintf("%s-%d", mode, n), func(b *testing.B) {
				rows = append(rows, coldStart(b, mode, n))
			})
		}
	}
	var out [][]string
	for _, r := range rows {
		routes, rat := "-", "-"
		if r.routes > 0 {
			routes, rat = ms(r.routes), ratio(r.routes, r.list+r.bare)
		}
		out = append(out, []string{r.mode, strconv.Itoa(r.remotes), ms(r.ready), routes,
			ms(r.cpuStart), ms(r.list), ms(r.bare), rat,
			fmt.Sprintf("%.1f", float64(r.rssKiB)/1024), fmt.Sprintf("%.1f", float64(r.hwmKiB)/1024),
			ms(r.change.p50), ms(r.change.p90), ms(r.change.max), ms(r.cpuChange), ms(r.watch.p50),
			ratio(r.change.p50, r.watch.p50)})
	}
	benchutil.Table("Agent cold start (node run --bgp=false) and one change on top",
		[]string{"pool", "remotes", "ready ms", "all routes ms", "agent CPU ms", "etcd list ms", "bare netlink ms",
			"ratio", "RSS MiB", "peak RSS MiB", "change p50 ms", "p90", "max", "CPU/change ms", "bare watch p50 ms", "ratio p50"}, out)
}

func ratio(a, base time.Duration) string {
	if base <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", float64(a)/float64(base))
}

// coldStart runs one row; mode is vxlan, noencap or noencap6 (the IPv6 twin of noencap:
// remote /122 blocks of an IPv6 pool routed via the remote nodes' IPv6 addresses).
func coldStart(b *testing.B, mode string, n int) coldResult {
	ctx := context.Background()
	res := coldResult{mode: mode, remotes: n}
	v6 := mode == "noencap6"
	bed := testbed.Options{Subnets: []netip.Prefix{fakeSubnet},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "base"}}}
	pool, pyaml := benchPool, poolYAML("bench-pool", benchPool.String(), 26, "Never", "Never")
	if mode == "vxlan" {
		pyaml = poolYAML("bench-pool", benchPool.String(), 26, "Never", "Always")
	}
	if v6 {
		bed.Subnets6 = []netip.Prefix{fakeSubnet6}
		pool, pyaml = benchPool6, poolYAML("bench-pool6", benchPool6.String(), 122, "Never", "Never")
	}
	c := startCluster(b, bed)
	if err := c.Apply(pyaml); err != nil {
		b.Fatal(err)
	}
	st, err := c.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	if err := writeRemotesFamily(ctx, st, 0, n, v6); err != nil {
		b.Fatal(err)
	}
	res.write = time.Since(start)
	if res.list, _, err = bareList(ctx, st); err != nil {
		b.Fatal(err)
	}
	if v6 {
		res.bare, err = bareProgram6(c.Host("base"), n)
	} else {
		res.bare, err = bareProgram(c.Host("base"), n, mode == "vxlan")
	}
	if err != nil {
		b.Fatal(err)
	}

	w, err := watchRoutes(c.Host("node1"), pool)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ResetTimer()
	start = time.Now()
	var a *cluster.Agent
	if dir := os.Getenv("BNB_PROFILE"); dir != "" {
		a = startProfiledAgent(b, c, dir, fmt.Sprintf("%s-%d", mode, n))
	} else if a, err = c.StartAgent("node1", cluster.AgentOptions{NoBGP: true, IP6: v6}); err != nil {
		b.Fatal(err)
	}
	res.ready = time.Since(start)
	// The agent's own block (VXLAN tunnel address) is in the pool too.
	want := n
	if mode == "vxlan" {
		want++
	}
	last, err := w.WaitCount(want, 5*time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	res.cpuStart, _ = cluster.ProcCPU(a.Proc.PID)
	if want > 0 {
		res.routes = last.Sub(start)
	}
	if got, err := countRoutes(c.Host("node1"), pool); err != nil || got != want {
		b.Fatalf("node1 holds %d routes in the pool, want %d (err %v)", got, want, err)
	}
	time.Sleep(2 * time.Second) // let the agent settle (status reports, GC) before reading RSS
	if res.rssKiB, err = vmRSS(a.Proc.PID); err != nil {
		b.Fatal(err)
	}
	res.hwmKiB, _ = benchutil.ProcKiB(a.Proc.PID, "VmHWM:")

	var changes []time.Duration
	if os.Getenv("BNB_PROFILE") != "" {
		_ = syscall.Kill(a.Proc.PID, syscall.SIGUSR1) // switch to the changes profile
		time.Sleep(100 * time.Millisecond)
	}
	cpu0, _ := cluster.ProcCPU(a.Proc.PID)
	for k := range 20 {
		i := n + k
		w.Reset()
		t0 := time.Now()
		if err := writeRemotesFamily(ctx, st, i, i+1, v6); err != nil {
			b.Fatal(err)
		}
		dst := remoteBlock(i)
		if v6 {
			dst = remoteBlock6(i)
		}
		at, err := w.WaitFor(dst, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		changes = append(changes, at.Sub(t0))
		time.Sleep(50 * time.Millisecond)
	}
	cpu1, _ := cluster.ProcCPU(a.Proc.PID)
	// The 50 ms pauses between changes hold little else: status reports every few seconds.
	res.cpuChange = (cpu1 - cpu0) / 20
	res.change = summarize(changes)
	watch, err := bareWatchLatency(ctx, st, 20)
	if err != nil {
		b.Fatal(err)
	}
	res.watch = summarize(watch)
	res.lostNotification = w.Lost()
	b.ReportMetric(float64(res.routes.Milliseconds()), "ms-all-routes")
	b.ReportMetric(float64(res.rssKiB)/1024, "MiB-RSS")
	b.ReportMetric(float64(res.change.p50.Microseconds())/1000, "ms-change-p50")
	b.Logf("%s %d remotes: records written in %s; route notifications lost: %d", mode, n, res.write.Round(time.Millisecond), res.lostNotification)
	return res
}
