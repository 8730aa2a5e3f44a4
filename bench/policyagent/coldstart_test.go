package policyagent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// BenchmarkPolicyColdStartAndChanges: 1,000 GlobalNetworkPolicies (three rules each,
// selectors and ports) and 500 endpoints of node1 are in etcd (with their host-side veths)
// before `brindle node run` starts there. Timed: agent start to every endpoint in both
// verdict maps (polled through netlink every 10 ms), the agent's RSS; baseline: the agent's
// own table, dumped with `nft list table ip brindle`, loaded by `nft -f` into a fresh
// namespace in one transaction. Then 21 single changes each (one policy edited, one endpoint
// added, one label changed): etcd write to the agent's nftables commit (watched through the
// netlink monitor group), with the bare etcd watch delivery of a write as baseline.
func BenchmarkPolicyColdStartAndChanges(b *testing.B) {
	nPol, nEP := envInt("BPA_POLICIES", 1000), envInt("BPA_ENDPOINTS", 500)
	ctx := context.Background()
	c := startCluster(b, "node1")
	h := c.Host("node1")
	st, err := c.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rs := []api.Resource{decode[*api.Profile](b, profile)}
	for i := range nPol {
		rs = append(rs, gnp(b, i, 80))
	}
	var ifaces []string
	for j := range nEP {
		rs = append(rs, wep(b, "node1", j, fmt.Sprintf("a%d", j%50)))
		ifaces = append(ifaces, wepIface(j))
	}
	t0 := time.Now()
	if err := writeAll(ctx, st, rs); err != nil {
		b.Fatal(err)
	}
	write := time.Since(t0)
	if err := addVeths(h.Netns, 0, nEP); err != nil {
		b.Fatal(err)
	}
	k, err := newKernel(h.Netns)
	if err != nil {
		b.Fatal(err)
	}

	// Poll from the moment the agent is started; StartAgent returns at /readiness.
	var enforcedAt atomic.Int64
	stop := make(chan struct{})
	start := time.Now()
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if k.enforced(ifaces) == nEP {
				enforcedAt.Store(int64(time.Since(start)))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	a, err := c.StartAgent("node1", cluster.AgentOptions{NoBGP: true})
	if err != nil {
		close(stop)
		b.Fatal(err)
	}
	ready := time.Since(start)
	err = cluster.WaitFor(5*time.Minute, "every endpoint enforced", func() (bool, string) {
		return enforcedAt.Load() > 0, fmt.Sprintf("%d of %d endpoints in both verdict maps", k.enforced(ifaces), nEP)
	})
	close(stop)
	if err != nil {
		b.Fatal(err)
	}
	cold := time.Duration(enforcedAt.Load())
	time.Sleep(2 * time.Second) // let the agent settle before reading RSS
	rss, _ := benchutil.ProcKiB(a.Proc.PID, "VmRSS:")
	hwm, _ := benchutil.ProcKiB(a.Proc.PID, "VmHWM:")

	nftf, lines, err := nftBaseline(b, h.Netns)
	if err != nil {
		b.Fatal(err)
	}

	// Single changes.
	cm, err := k.watchCommits()
	if err != nil {
		b.Fatal(err)
	}
	defer cm.close()
	if err := addVeths(h.Netns, nEP, nEP+21); err != nil {
		b.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // new veths: let any reaction to them pass first
	measure := func(write func(k int) error, verify func(k int) error) (stats, error) {
		var ds []time.Duration
		for i := range 21 {
			cm.drain()
			t0 := time.Now()
			if err := write(i); err != nil {
				return stats{}, err
			}
			at, err := cm.next(t0, 30*time.Second)
			if err != nil {
				return stats{}, fmt.Errorf("change %d: %w", i, err)
			}
			ds = append(ds, at.Sub(t0))
			if verify != nil {
				if err := verify(i); err != nil {
					return stats{}, err
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		return summarize(ds), nil
	}
	edit, err := measure(func(i int) error {
		_, err := st.Apply(ctx, gnp(b, i*37%nPol, 1001+i))
		return err
	}, nil)
	if err != nil {
		b.Fatal("policy edit: ", err)
	}
	if err := portsInTable(h.Netns, 1001, 1021); err != nil {
		b.Error(err)
	}
	add, err := measure(func(i int) error {
		_, err := st.Apply(ctx, wep(b, "node1", nEP+i, fmt.Sprintf("a%d", i%50)))
		return err
	}, func(i int) error {
		if k.enforced([]string{wepIface(nEP + i)}) != 1 {
			return fmt.Errorf("endpoint %s not in the verdict maps after the commit", wepIface(nEP+i))
		}
		return nil
	})
	if err != nil {
		b.Fatal("endpoint add: ", err)
	}
	label, err := measure(func(i int) error {
		j := i * 7 % nEP
		_, err := st.Apply(ctx, wep(b, "node1", j, fmt.Sprintf("a%d", (j+1)%50)))
		return err
	}, nil)
	if err != nil {
		b.Fatal("label change: ", err)
	}
	watch, err := bareWatch(ctx, st, 21)
	if err != nil {
		b.Fatal(err)
	}

	benchutil.Table(fmt.Sprintf("Policy cold start: %d GlobalNetworkPolicies x 3 rules, %d local endpoints (records written in %v; agent table: %d lines of nft list)",
		nPol, nEP, write.Round(time.Millisecond), lines),
		[]string{"step", "brindle node run", "baseline", "ratio"},
		[][]string{
			{"agent start -> /readiness", ms(ready) + " ms", "", ""},
			{"agent start -> every endpoint enforced", ms(cold) + " ms", "nft -f of the same table: " + ms(nftf) + " ms", ratio(cold, nftf)},
			{"RSS after start (peak)", fmt.Sprintf("%.1f MiB (%.1f)", float64(rss)/1024, float64(hwm)/1024), "", ""},
		})
	rows := [][]string{}
	for _, r := range []struct {
		name string
		s    stats
	}{{"policy edited", edit}, {"endpoint added", add}, {"label changed", label}} {
		rows = append(rows, []string{r.name, ms(r.s.p50), ms(r.s.p90), ms(r.s.max), ms(summarize(watch).p50), ratio(r.s.p50, summarize(watch).p50)})
	}
	benchutil.Table("Single changes at that scale: etcd write -> agent's nftables commit (21 each)",
		[]string{"change", "p50 ms", "p90 ms", "max ms", "bare etcd watch p50 ms", "ratio p50"}, rows)
	b.ReportMetric(float64(cold.Microseconds())/1000, "ms-cold")
	b.ReportMetric(float64(rss)/1024, "MiB-RSS")
}

func ratio(a, base time.Duration) string {
	if base <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(base))
}

// nftBaseline dumps the agent's table and times `nft -f` of it into a fresh namespace.
func nftBaseline(b *testing.B, n *testbed.Netns) (took time.Duration, lines int, err error) {
	out, err := exec.Command("ip", "netns", "exec", n.Name, "nft", "list", "table", "ip", "brindle").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("nft list table: %w", err)
	}
	file := filepath.Join(b.TempDir(), "brindle.nft")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		return 0, 0, err
	}
	fresh, err := testbed.NewNetns(prefix + "nft-" + testbed.RandSuffix())
	if err != nil {
		return 0, 0, err
	}
	b.Cleanup(func() { fresh.Close() })
	t0 := time.Now()
	if o, err := exec.Command("ip", "netns", "exec", fresh.Name, "nft", "-f", file).CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("nft -f: %v %s", err, o)
	}
	return time.Since(t0), strings.Count(string(out), "\n"), nil
}

// portsInTable checks that the edited policies' new ports are in the agent's table.
func portsInTable(n *testbed.Netns, lo, hi int) error {
	out, err := exec.Command("ip", "netns", "exec", n.Name, "nft", "list", "table", "ip", "brindle").Output()
	if err != nil {
		return err
	}
	var missing []int
	for p := lo; p < hi; p++ {
		if !strings.Contains(string(out), fmt.Sprintf("dport %d ", p)) && !strings.Contains(string(out), fmt.Sprintf("dport %d\n", p)) {
			missing = append(missing, p)
		}
	}
	// Every policy selects local endpoints (app a<i%50>), so every edit must show.
	if len(missing) > 0 {
		return fmt.Errorf("edited ports %v are not in the agent's table", missing)
	}
	return nil
}
