package churn

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

var hosts = []string{"node1", "node2", "node3"}

// cycles is BRINDLE_SOAK_CYCLES, or 200 (CI: about 30 s).
func cycles() int {
	if n, err := strconv.Atoi(os.Getenv("BRINDLE_SOAK_CYCLES")); err == nil && n > 0 {
		return n
	}
	return 200
}

// TestContainerChurn: three hosts in a BGP full mesh, a long-lived container on each, then
// container ADD/DEL cycles through the real CNI plugin, one goroutine per host taking every
// third cycle. Afterwards every host's kernel must hold exactly what it held after the
// warm-up (cali* veths, routes, neighbour entries on cali* links and permanent ones, the
// nftables ruleset), etcd exactly the IPAM handles and workload endpoints of the long-lived
// containers, `ipam check` must be clean and the long-lived containers must still reach each
// other. The agents' RSS after the warm-up and at the end and their CPU per container event
// are logged (measurements, not assertions).
func TestContainerChurn(t *testing.T) {
	testbed.RequireRoot(t)
	for _, tool := range []string{"ip", "nft"} {
		if !hasCommand(tool) {
			t.Skipf("%s not installed", tool)
		}
	}
	n := cycles()
	profDir := profileDir(t)
	bed := testbed.Options{Prefix: "bfc-", Subnets: []netip.Prefix{netip.MustParsePrefix("172.30.1.0/24"), netip.MustParsePrefix("172.30.2.0/24")}}
	for _, h := range hosts {
		bed.Hosts = append(bed.Hosts, testbed.HostOptions{Name: h})
	}
	c, err := cluster.Start(cluster.Options{Bed: bed, Binary: testBin.Path(t), WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 40)
	if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: bfc-pool}
spec: {cidr: 10.244.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never, natOutgoing: true, nodeSelector: all()}
`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, h := range hosts {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = c.StartAgent(h, cluster.AgentOptions{}) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var keep []*cluster.Container
	for _, h := range hosts {
		ct, err := c.AddContainer(h, "keep-"+h)
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, ct)
	}
	if err := cluster.WaitMatrix(keep, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// Warm-up: a few cycles per host so that every lazily built thing (blocks, profile
	// chains, caches) exists before the baseline.
	if _, err := churn(c, 3*len(hosts), "warm", nil); err != nil {
		t.Fatal(err)
	}
	base := map[string]hostState{}
	for _, h := range hosts {
		base[h] = settledSnapshot(t, c.Host(h))
	}
	st, err := c.Store()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	baseHandles, baseWEPs := datastoreCounts(t, st)
	rss0, anon0, cpu0 := agentFigures(t, c)
	heap0 := map[string]goMem{}
	for _, h := range hosts {
		heap0[h] = readGoMem(c, h)
	}
	saveHeapProfile(t, c, profDir, "0")

	start := time.Now()
	perCycle, err := churn(c, n, "ch", func(done int) {
		var sb strings.Builder
		for _, h := range hosts {
			pid := c.Agent(h).Proc.PID
			r, _ := cluster.ProcRSS(pid)
			an, _ := cluster.ProcStatusKiB(pid, "RssAnon:")
			u, _ := cluster.ProcCPU(pid)
			fmt.Fprintf(&sb, " %s RSS %.1f MiB (anon %.1f, %v) CPU +%v;", h, float64(r)/1024, float64(an)/1024, readGoMem(c, h), (u - cpu0[h]).Round(10*time.Millisecond))
		}
		saveHeapProfile(t, c, profDir, strconv.Itoa(done))
		t.Logf("%d/%d cycles after %v:%s", done, n, time.Since(start).Round(time.Second), sb.String())
	})
	if err != nil {
		t.Fatalf("after %d cycles: %v", n, err)
	}
	took := time.Since(start)
	rss1, anon1, cpu1 := agentFigures(t, c)
	t.Logf("%d ADD/DEL cycles over %d hosts in %v (%.0f ms per cycle per host, CNI ADD+DEL p50 %v, max %v)",
		n, len(hosts), took.Round(time.Second), float64(took.Milliseconds())*float64(len(hosts))/float64(n),
		perCycle.p50.Round(time.Millisecond), perCycle.max.Round(time.Millisecond))
	var cpuSum time.Duration
	for _, h := range hosts {
		d := cpu1[h] - cpu0[h]
		cpuSum += d
		t.Logf("agent %s: RSS %.1f -> %.1f MiB (%+.1f %%), anonymous %.1f -> %.1f MiB (%+.1f %%), Go %v -> %v MiB from the warm-up to %d cycles; CPU %v over the run, %.2f ms per container event on its own host's %d events",
			h, float64(rss0[h])/1024, float64(rss1[h])/1024, pct(rss0[h], rss1[h]),
			float64(anon0[h])/1024, float64(anon1[h])/1024, pct(anon0[h], anon1[h]), heap0[h], readGoMem(c, h), n,
			d.Round(10*time.Millisecond), float64(d.Microseconds())/1000/float64(2*eventsOn(h, n)), 2*eventsOn(h, n))
	}
	t.Logf("all agents: %.2f ms CPU per container event (%v over %d ADD+DEL events)",
		float64(cpuSum.Microseconds())/1000/float64(2*n), cpuSum.Round(10*time.Millisecond), 2*n)

	for _, h := range hosts {
		if d := base[h].diff(settledSnapshot(t, c.Host(h))); d != "" {
			t.Errorf("%s leaked after %d cycles:\n%s", h, n, d)
		}
	}
	handles, weps := datastoreCounts(t, st)
	if handles != baseHandles || weps != baseWEPs {
		t.Errorf("datastore after %d cycles: %d IPAM handles and %d workload endpoints, want %d and %d as after the warm-up",
			n, handles, weps, baseHandles, baseWEPs)
	}
	if out, err := c.Ctl(nil, "ipam", "check"); err != nil {
		t.Errorf("ipam check after %d cycles: %v\n%s", n, err, out)
	}
	if err := cluster.WaitMatrix(keep, 20*time.Second); err != nil {
		t.Error(err)
	}
}

// eventsOn is how many of n cycles ran on host (cycle i runs on hosts[i%3]).
func eventsOn(host string, n int) int {
	for i, h := range hosts {
		if h == host {
			return (n - i + len(hosts) - 1) / len(hosts)
		}
	}
	return 0
}

type latencies struct{ p50, max time.Duration }

// churn runs n ADD/DEL cycles, cycle i on hosts[i%3], one goroutine per host, and returns
// the CNI ADD+DEL time per cycle. progress, if not nil, is called every progressEvery
// cycles (a long soak reports as it goes, so a partial run still has figures).
const progressEvery = 500

func churn(c *cluster.Cluster, n int, prefix string, progress func(done int)) (latencies, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []time.Duration
	errs := make([]error, len(hosts))
	for hi, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := hi; i < n; i += len(hosts) {
				t0 := time.Now()
				ct, err := c.AddContainer(h, fmt.Sprintf("%s%d", prefix, i))
				if err == nil {
					err = c.DelContainer(ct)
				}
				if err != nil {
					errs[hi] = fmt.Errorf("cycle %d on %s: %w", i, h, err)
					return
				}
				mu.Lock()
				all = append(all, time.Since(t0))
				done := len(all)
				mu.Unlock()
				if progress != nil && done%progressEvery == 0 {
					progress(done)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return latencies{}, err
		}
	}
	if len(all) == 0 {
		return latencies{}, nil
	}
	slices.Sort(all)
	return latencies{p50: all[len(all)/2], max: all[len(all)-1]}, nil
}

// agentFigures reads every agent's VmRSS and RssAnon (KiB) and CPU time. RssAnon is the
// heap and stacks, where a leak shows; VmRSS also counts the binary's pages (RssFile), which
// grow as code runs for the first time.
func agentFigures(t *testing.T, c *cluster.Cluster) (rss, anon map[string]int64, cpu map[string]time.Duration) {
	t.Helper()
	rss, anon, cpu = map[string]int64{}, map[string]int64{}, map[string]time.Duration{}
	for _, h := range hosts {
		pid := c.Agent(h).Proc.PID
		var err error
		if rss[h], err = cluster.ProcRSS(pid); err != nil {
			t.Fatal(err)
		}
		if anon[h], err = cluster.ProcStatusKiB(pid, "RssAnon:"); err != nil {
			t.Fatal(err)
		}
		if cpu[h], err = cluster.ProcCPU(pid); err != nil {
			t.Fatal(err)
		}
	}
	return rss, anon, cpu
}

func pct(a, b int64) float64 { return 100 * float64(b-a) / float64(a) }

// datastoreCounts counts IPAM handles and workload endpoints in etcd.
func datastoreCounts(t *testing.T, st *store.Client) (handles, weps int) {
	t.Helper()
	ctx := context.Background()
	keys, err := st.ListKeys(ctx, store.HandleKey(""))
	if err != nil {
		t.Fatal(err)
	}
	wep, _ := api.LookupKind("WorkloadEndpoint")
	wepKeys, err := st.ListKeys(ctx, store.ResourcePrefix+wep.Plural+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, "/ch") { // a churn container's handle names its ID
			t.Logf("leftover handle %s", k)
		}
	}
	return len(keys), len(wepKeys)
}
