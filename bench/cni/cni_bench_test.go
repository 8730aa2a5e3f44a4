// Package benchcni measures the CNI plugin as a runtime calls it: a fresh process per ADD
// and DEL, sequentially and 100 at once on one host, next to the bare kernel steps of the
// same wiring without datastore or IPAM, all in the same run. Run as root:
//
//	go test -run XXX -bench CNI -benchtime 1x ./bench/cni/
//
// It measures bin/brindle (the lean build users install; `make build` runs first unless
// BENCH_CNI_BIN names a binary) and, for comparison, the full `go build .` binary.
// BENCH_CNI_N sets the sequential sample count (default 60); BENCH_CNI_CONC the number of
// concurrent ADDs (default 100).
package benchcni

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/test/cni/hostns"
)

func TestMain(m *testing.M) { hostns.Main(m) }

type nsPool struct {
	b     *testing.B
	names []string
}

func (p *nsPool) add() string {
	name := fmt.Sprintf("bcni-b%d-%d", os.Getpid()%10000, len(p.names))
	if o, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		p.b.Fatalf("ip netns add: %v %s", err, o)
	}
	p.names = append(p.names, name)
	return "/var/run/netns/" + name
}

// delLast deletes the most recently added namespace.
func (p *nsPool) delLast() {
	last := p.names[len(p.names)-1]
	if o, err := exec.Command("ip", "netns", "del", last).CombinedOutput(); err != nil {
		p.b.Fatalf("ip netns del %s: %v %s", last, err, o)
	}
	p.names = p.names[:len(p.names)-1]
}

func (p *nsPool) cleanup() {
	for _, n := range p.names {
		_ = exec.Command("ip", "netns", "del", n).Run()
	}
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// seed makes the datastore ready and gives it a pool.
func seed(b *testing.B, create func(context.Context, api.Resource) (api.Resource, error)) {
	for kind, doc := range map[string]string{
		"ClusterInformation": `{"metadata":{"name":"default"},"spec":{"datastoreReady":true}}`,
		"IPPool":             `{"metadata":{"name":"p"},"spec":{"cidr":"10.250.0.0/16","blockSize":26,"nodeSelector":"all()"}}`,
	} {
		k, _ := api.LookupKind(kind)
		r := k.NewResource()
		_ = json.Unmarshal([]byte(doc), r)
		if _, err := create(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCNI(b *testing.B) {
	if os.Getenv(hostns.Env) == "" {
		b.Skip("needs root (runs inside a host namespace)")
	}
	n := envInt("BENCH_CNI_N", 60)
	conc := envInt("BENCH_CNI_CONC", 100)
	dir := b.TempDir()
	lean := install(b, dir, "lean", leanBinary(b))
	full := install(b, dir, "full", goBuild(b, dir, "brindle-full", "."))
	bare := goBuild(b, dir, "bare", "./bench/cni/bare")

	srv, sc := datastore.StartTest(b)
	seed(b, sc.Create)
	conf, _ := json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": "bnet", "type": "calico", "datastore_type": "etcdv3",
		"etcd_endpoints": srv.Endpoints(), "nodename": "bnode", "mtu": 1480, "log_level": "warning",
		"ipam": map[string]any{"type": "calico-ipam"},
	})
	env := func(p plugin, cmd, id, netns string) []string {
		return []string{"CNI_COMMAND=" + cmd, "CNI_CONTAINERID=" + id, "CNI_NETNS=" + netns, "CNI_IFNAME=eth0", "CNI_PATH=" + p.dir}
	}
	pool := &nsPool{b: b}
	defer pool.cleanup()

	b.ResetTimer()
	for range b.N {
		loadStart := loadavg()
		// Interleaved, so that the machine's load, which changes by the second here, weighs
		// on every variant alike and the ratios hold.
		t := map[string][]sample{}
		for i := 0; i < n; i++ {
			for _, p := range []plugin{lean, full} {
				ns := pool.add()
				id := fmt.Sprintf("%s%06d", p.label, i)
				t[p.label+" ADD"] = append(t[p.label+" ADD"], run(b, env(p, "ADD", id, ns), conf, p.bin))
				t[p.label+" DEL"] = append(t[p.label+" DEL"], run(b, env(p, "DEL", id, ns), conf, p.bin))
				t[p.label+" VERSION"] = append(t[p.label+" VERSION"], run(b, env(p, "VERSION", "", ""), conf, p.bin))
			}
			ns := pool.add()
			veth := fmt.Sprintf("calibare%d", i)
			ip := fmt.Sprintf("10.251.%d.%d", i/250, i%250+1)
			t["bare ADD"] = append(t["bare ADD"], run(b, nil, nil, bare, "add", ns, veth, ip))
			t["bare DEL"] = append(t["bare DEL"], run(b, nil, nil, bare, "del", ns, veth, ip))
		}

		// conc ADDs at once on one host, then conc DELs at once; bare the same for scale.
		nss := make([]string, conc)
		for i := range nss {
			nss[i] = pool.add()
		}
		at := func(f func(i int) sample) ([]sample, time.Duration) {
			ds := make([]sample, conc)
			var wg sync.WaitGroup
			start := time.Now()
			for i := range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ds[i] = f(i)
				}()
			}
			wg.Wait()
			return ds, time.Since(start)
		}
		cAdd, cAddWall := at(func(i int) sample {
			return run(b, env(lean, "ADD", fmt.Sprintf("conc%04d", i), nss[i]), conf, lean.bin)
		})
		cDel, cDelWall := at(func(i int) sample {
			return run(b, env(lean, "DEL", fmt.Sprintf("conc%04d", i), nss[i]), conf, lean.bin)
		})
		bAdd, bAddWall := at(func(i int) sample {
			return run(b, nil, nil, bare, "add", nss[i], fmt.Sprintf("calibc%d", i), fmt.Sprintf("10.252.%d.%d", i/250, i%250+1))
		})
		bDel, bDelWall := at(func(i int) sample {
			return run(b, nil, nil, bare, "del", nss[i], fmt.Sprintf("calibc%d", i), "")
		})

		report(b, reportIn{n: n, conc: conc, t: t, loadStart: loadStart, loadEnd: loadavg(),
			cAdd: cAdd, cDel: cDel, bAdd: bAdd, bDel: bDel,
			cAddWall: cAddWall, cDelWall: cDelWall, bAddWall: bAddWall, bDelWall: bDelWall})
	}
}

type reportIn struct {
	n, conc                                int
	t                                      map[string][]sample
	loadStart, loadEnd                     string
	cAdd, cDel, bAdd, bDel                 []sample
	cAddWall, cDelWall, bAddWall, bDelWall time.Duration
}

func walls(ss []sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.wall
	}
	return out
}

func cpus(ss []sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.cpu
	}
	return out
}

func ratio(a, base []time.Duration) float64 {
	if pct(base, .5) == 0 {
		return 0
	}
	return float64(pct(a, .5)) / float64(pct(base, .5))
}

func report(b *testing.B, r reportIn) {
	row := func(name string, ss, base []sample) {
		fmt.Printf("%-42s %7s %7s %6.2fx %7s %6.2fx\n", name, ms(pct(walls(ss), .5)), ms(pct(walls(ss), .99)),
			ratio(walls(ss), walls(base)), ms(pct(cpus(ss), .5)), ratio(cpus(ss), cpus(base)))
	}
	fmt.Printf("\nCNI plugin, a fresh process per call (n=%d sequential, interleaved; %d concurrent)\n", r.n, r.conc)
	fmt.Printf("load average at start %s, at end %s (%d CPUs)\n", r.loadStart, r.loadEnd, numCPU())
	fmt.Printf("%-42s %7s %7s %7s %7s %7s\n", "operation", "p50 ms", "p99 ms", "/bare", "CPU ms", "/bare")
	row("bare ADD (same netlink steps, no etcd/IPAM)", r.t["bare ADD"], r.t["bare ADD"])
	row("ADD  bin/brindle (lean, as installed)", r.t["lean ADD"], r.t["bare ADD"])
	row("ADD  go build . (full)", r.t["full ADD"], r.t["bare ADD"])
	row("bare DEL", r.t["bare DEL"], r.t["bare DEL"])
	row("DEL  bin/brindle (lean)", r.t["lean DEL"], r.t["bare DEL"])
	row("DEL  go build . (full)", r.t["full DEL"], r.t["bare DEL"])
	row("VERSION bin/brindle (lean): start-up", r.t["lean VERSION"], r.t["bare ADD"])
	row("VERSION go build . (full): start-up", r.t["full VERSION"], r.t["bare ADD"])
	conc := func(name string, ss []sample, wall, bareWall time.Duration) {
		fmt.Printf("%-42s %7s %7s   wall %s ms (bare: %s ms)\n", fmt.Sprintf("%d concurrent %s, per call", r.conc, name),
			ms(pct(walls(ss), .5)), ms(pct(walls(ss), .99)), ms(wall), ms(bareWall))
	}
	conc("ADDs, lean", r.cAdd, r.cAddWall, r.bAddWall)
	conc("DELs, lean", r.cDel, r.cDelWall, r.bDelWall)
	conc("bare ADDs", r.bAdd, r.bAddWall, r.bAddWall)
	conc("bare DELs", r.bDel, r.bDelWall, r.bDelWall)
	leanAdd := float64(pct(walls(r.t["lean ADD"]), .5).Microseconds()) / 1000
	fmt.Printf("Calico's ADD (observed ~100 ms) / bin/brindle ADD p50 = %.1fx\n", 100/leanAdd)
	b.ReportMetric(leanAdd, "add-p50-ms")
	b.ReportMetric(ratio(walls(r.t["lean ADD"]), walls(r.t["bare ADD"])), "add/bare")
	b.ReportMetric(ratio(cpus(r.t["lean ADD"]), cpus(r.t["bare ADD"])), "add-cpu/bare")
	b.ReportMetric(float64(pct(walls(r.t["lean DEL"]), .5).Microseconds())/1000, "del-p50-ms")
	b.ReportMetric(float64(r.cAddWall.Milliseconds()), "conc-add-wall-ms")
}
