package benchcni

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/test/cni/hostns"
)

// CalicoEnv names Calico's CNI plugin binary for the side-by-side benchmarks. Calico's
// calico-ipam is the same binary under that name.
const CalicoEnv = "BENCH_CALICO_BIN"

// CalicoHowTo says how to get the binary; the benchmark skips without it, so CI needs no Calico.
const CalicoHowTo = "set " + CalicoEnv + " to Calico's CNI plugin, built from its public source, e.g.\n" +
	"  git clone -b v3.30.7 https://github.com/projectcalico/calico && cd calico &&\n" +
	"  CGO_ENABLED=0 go build -o /work/calico-build/calico ./cni-plugin/cmd/calico\n" +
	"and run with " + CalicoEnv + "=/work/calico-build/calico"

// calicoBinary returns Calico's plugin or skips the benchmark, saying how to build it.
func calicoBinary(b *testing.B) string {
	p := os.Getenv(CalicoEnv)
	if p == "" {
		b.Skip("no Calico plugin to compare with: " + CalicoHowTo)
	}
	if _, err := os.Stat(p); err != nil {
		b.Skipf("%s: %v\n%s", CalicoEnv, err, CalicoHowTo)
	}
	return p
}

// BenchmarkCNIvsCalico runs brindle's ADD and DEL and Calico's (v3.30, etcd mode, with
// calico-ipam) interleaved in one run against one etcd, a fresh process per call, so that
// the machine's load weighs on both alike. The harness row is /bin/true through the same
// fork/exec/wait: its p50 is subtracted for the "net" ratio. Run as root:
//
//	BENCH_CALICO_BIN=/work/calico-build/calico go test -run XXX -bench CNIvsCalico -benchtime 1x ./bench/cni/
func BenchmarkCNIvsCalico(b *testing.B) {
	if os.Getenv(hostns.Env) == "" {
		b.Skip("needs root (runs inside a host namespace)")
	}
	calicoBin := calicoBinary(b)
	n := envInt("BENCH_CNI_N", 60)
	dir := b.TempDir()
	lean := install(b, dir, "lean", leanBinary(b))
	calico := install(b, dir, "calico", calicoBin)

	srv, sc := datastore.StartTest(b)
	seed(b, sc.Create)
	// Calico's IPAM reads the Node for its labels; brindle's works with or without it.
	mustCreateNodes(b, sc.Create, "bnode", "bnode-calico")
	confFor := func(node string) []byte {
		c, _ := json.Marshal(map[string]any{
			"cniVersion": "1.0.0", "name": "bnet", "type": "calico", "datastore_type": "etcdv3",
			"etcd_endpoints": srv.Endpoints(), "nodename": node, "nodename_file_optional": true, "mtu": 1480, "log_level": "warning",
			"log_file_path": filepath.Join(dir, node+".log"),
			"ipam":          map[string]any{"type": "calico-ipam"},
		})
		return c
	}
	// Each plugin has its own host (and so its own blocks): neither works on the other's.
	conf := map[string][]byte{"lean": confFor("bnode"), "calico": confFor("bnode-calico")}
	env := func(p plugin, cmd, id, netns string) []string {
		return []string{"CNI_COMMAND=" + cmd, "CNI_CONTAINERID=" + id, "CNI_NETNS=" + netns, "CNI_IFNAME=eth0", "CNI_PATH=" + p.dir}
	}
	pool := &nsPool{b: b}
	defer pool.cleanup()

	b.ResetTimer()
	for range b.N {
		loadStart := loadavg()
		t := map[string][]sample{}
		for i := 0; i < n; i++ {
			// Alternate which goes first, so neither always follows the other's DEL.
			order := []plugin{lean, calico}
			if i%2 == 1 {
				order = []plugin{calico, lean}
			}
			for _, p := range order {
				ns := pool.add()
				id := fmt.Sprintf("%s%06d", p.label, i)
				t[p.label+" ADD"] = append(t[p.label+" ADD"], run(b, env(p, "ADD", id, ns), conf[p.label], p.bin))
				t[p.label+" DEL"] = append(t[p.label+" DEL"], run(b, env(p, "DEL", id, ns), conf[p.label], p.bin))
				pool.delLast()
			}
			t["harness"] = append(t["harness"], run(b, nil, nil, "/bin/true"))
		}
		if b.Failed() {
			return
		}
		h := pct(walls(t["harness"]), .5)
		fmt.Printf("\nCNI ADD/DEL, brindle vs Calico v3.30 (etcd, calico-ipam), a fresh process per call, n=%d interleaved\n", n)
		fmt.Printf("load average at start %s, at end %s (%d CPUs)\n", loadStart, loadavg(), numCPU())
		fmt.Printf("%-36s %8s %8s %8s %8s\n", "operation", "p50 ms", "p99 ms", "net ms", "CPU ms")
		row := func(name string, ss []sample) {
			fmt.Printf("%-36s %8s %8s %8s %8s\n", name, ms(pct(walls(ss), .5)), ms(pct(walls(ss), .99)),
				ms(pct(walls(ss), .5)-h), ms(pct(cpus(ss), .5)))
		}
		row("harness (/bin/true, same fork/exec)", t["harness"])
		row("ADD brindle (bin/brindle)", t["lean ADD"])
		row("ADD Calico", t["calico ADD"])
		row("DEL brindle (bin/brindle)", t["lean DEL"])
		row("DEL Calico", t["calico DEL"])
		for _, op := range []string{"ADD", "DEL"} {
			c, l := pct(walls(t["calico "+op]), .5), pct(walls(t["lean "+op]), .5)
			fmt.Printf("%s: Calico / brindle p50 = %.2fx (net of the harness %.2fx; CPU %.2fx)\n", op,
				float64(c)/float64(l), float64(c-h)/float64(l-h), ratio(cpus(t["calico "+op]), cpus(t["lean "+op])))
		}
		// Each iteration's ADDs ran back to back: the median of their ratios is the least
		// disturbed by load that changes during the run.
		pairs := make([]time.Duration, n)
		for i := range n {
			pairs[i] = time.Duration(float64(time.Millisecond) * float64(t["calico ADD"][i].wall) / float64(t["lean ADD"][i].wall))
		}
		fmt.Printf("ADD: median of the %d back-to-back pairs' ratios = %.2fx\n", n, float64(pct(pairs, .5))/float64(time.Millisecond))
		b.ReportMetric(float64(pct(pairs, .5))/float64(time.Millisecond), "add-pair-ratio-median")
		b.ReportMetric(float64(pct(walls(t["calico ADD"]), .5)-h)/float64(pct(walls(t["lean ADD"]), .5)-h), "add-calico/brindle-net")
		b.ReportMetric(float64(pct(walls(t["calico ADD"]), .5))/float64(pct(walls(t["lean ADD"]), .5)), "add-calico/brindle")
		b.ReportMetric(float64(pct(walls(t["lean ADD"]), .5))/float64(time.Millisecond), "add-p50-ms")
	}
}

// mustCreateNodes creates bare Node resources.
func mustCreateNodes(b *testing.B, create func(context.Context, api.Resource) (api.Resource, error), names ...string) {
	k, _ := api.LookupKind("Node")
	for _, name := range names {
		r := k.NewResource()
		r.GetObjectMeta().Name = name
		if _, err := create(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
