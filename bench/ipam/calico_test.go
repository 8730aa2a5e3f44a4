package benchipam

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// BenchmarkIPAMvsCalico alternates bursts of brindle's and Calico's calico-ipam in one run
// (each burst: N ADDs at once for one host, a fresh process each, against a fresh etcd, then
// the N DELs), so that the machine's changing load weighs on both alike, and prints the
// ratio of each round and their median. Calico's plugin comes from BENCH_CALICO_BIN; without
// it the benchmark is skipped. BENCH_IPAM_ROUNDS (default 5) rounds; BENCH_IPAM_N calls.
//
//	BENCH_CALICO_BIN=/work/calico-build/calico go test -run XXX -bench IPAMvsCalico -benchtime 1x ./bench/ipam/
func BenchmarkIPAMvsCalico(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("BENCH_IPAM_N")); err == nil && v > 0 {
		n = v
	}
	rounds := 5
	if v, err := strconv.Atoi(os.Getenv("BENCH_IPAM_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	dir := b.TempDir()
	cal := calicoIPAM(b, dir)
	plugin := brindleIPAM(b, dir)
	for range b.N {
		fmt.Printf("\nIPAM burst, brindle vs Calico's calico-ipam, %d at once, one host, %d rounds alternating\n", n, rounds)
		fmt.Printf("%-30s %8s %9s %9s %9s %9s\n", "case", "calls", "wall ms", "p50 ms", "p99 ms", "distinct")
		var ratios []float64
		for r := range rounds {
			var bw, cw time.Duration
			if r%2 == 0 {
				bw = runPluginCase(b, plugin, "on", n, 2*r)
				cw = runPluginCase(b, cal, "calico", n, 2*r+1)
			} else {
				cw = runPluginCase(b, cal, "calico", n, 2*r+1)
				bw = runPluginCase(b, plugin, "on", n, 2*r)
			}
			if b.Failed() || bw == 0 {
				return
			}
			ratios = append(ratios, float64(cw)/float64(bw))
			fmt.Printf("round %d: ADD wall Calico %.0f ms / brindle %.0f ms = %.2fx (load %s)\n", r+1, ms(cw), ms(bw), ratios[r], loadavg())
		}
		slices.Sort(ratios)
		med := ratios[len(ratios)/2]
		fmt.Printf("median ratio of the ADD bursts: %.2fx (min %.2fx, max %.2fx)\n", med, ratios[0], ratios[len(ratios)-1])
		b.ReportMetric(med, "calico/brindle-median")
	}
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := string(data)
	if len(f) > 14 {
		f = f[:14]
	}
	return f
}

// CalicoEnv names Calico's CNI plugin binary (v3.30, cni-plugin/cmd/calico); calico-ipam is the
// same binary under that name. Without it the Calico case is skipped, so CI needs no Calico.
const CalicoEnv = "BENCH_CALICO_BIN"

// calicoIPAM installs Calico's binary as calico-ipam in its own directory, or skips.
func calicoIPAM(b *testing.B, dir string) string {
	p := os.Getenv(CalicoEnv)
	if _, err := os.Stat(p); p == "" || err != nil {
		b.Skip("no Calico plugin to compare with: set " + CalicoEnv + " to Calico's CNI plugin, built from its public source:\n" +
			"  git clone -b v3.30.7 https://github.com/projectcalico/calico && cd calico &&\n" +
			"  CGO_ENABLED=0 go build -o /work/calico-build/calico ./cni-plugin/cmd/calico")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		b.Fatal(err)
	}
	d := filepath.Join(dir, "calico")
	if err := os.MkdirAll(d, 0o755); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(d, "calico-ipam")
	if err := os.Symlink(abs, out); err != nil && !os.IsExist(err) {
		b.Fatal(err)
	}
	return out
}
