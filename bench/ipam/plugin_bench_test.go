// Package benchipam measures the IPAM plugin as a runtime calls it: the brindle binary
// symlinked as calico-ipam, a fresh process per CNI ADD, 100 of them launched at once for one
// host against an embedded etcd. It prints wall time and per-call p50/p99 and checks that the
// 100 addresses are distinct. Run:
//
//	go test -run XXX -bench IPAMPlugin -benchtime 1x ./bench/ipam/
//
// BENCH_IPAM_N sets the number of concurrent calls (default 100); BENCH_IPAM_BIN names a
// prebuilt brindle binary instead of building the work tree.
package benchipam

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// BenchmarkIPAMPlugin launches N calico-ipam ADDs at once for one host, then N DELs at once.
// Two variants: with the advisory per-host queue (the default) and with it disabled
// (BRINDLE_IPAM_QUEUE=off), which shows what the queue saves.
func BenchmarkIPAMPlugin(b *testing.B) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("BENCH_IPAM_N")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	plugin := brindleIPAM(b, dir)
	fmt.Printf("\nIPAM plugin (brindle as calico-ipam), fresh process per call, %d at once, one host\n", n)
	fmt.Printf("%-30s %8s %9s %9s %9s %9s\n", "case", "calls", "wall ms", "p50 ms", "p99 ms", "distinct")
	b.Run("floor", func(b *testing.B) {
		for range b.N {
			versionFloor(b, plugin, n)
		}
	})
	for _, queue := range []string{"on", "off"} {
		b.Run("queue="+queue, func(b *testing.B) {
			for it := range b.N {
				runPluginCase(b, plugin, queue, n, it)
			}
		})
	}
	b.Run("calico-ipam", func(b *testing.B) {
		cal := calicoIPAM(b, dir)
		for it := range b.N {
			runPluginCase(b, cal, "calico", n, it)
		}
	})
}

// brindleIPAM installs the brindle binary as calico-ipam in dir.
func brindleIPAM(b *testing.B, dir string) string {
	bin := os.Getenv("BENCH_IPAM_BIN")
	if bin == "" {
		// The binary users run: make build's lean bin/brindle (docs/architecture.md).
		build := exec.Command("make", "build")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("make build: %v\n%s", err, out)
		}
		abs, err := filepath.Abs("../../bin/brindle")
		if err != nil {
			b.Fatal(err)
		}
		bin = abs
	}
	plugin := filepath.Join(dir, "calico-ipam")
	if err := os.Symlink(bin, plugin); err != nil {
		b.Fatal(err)
	}
	return plugin
}

// runPluginCase runs n ADDs at once and then n DELs, prints a row for each and returns the
// ADDs' wall time.
func runPluginCase(b *testing.B, plugin, queue string, n, it int) time.Duration {
	srv, sc := datastore.StartTest(b)
	ctx := context.Background()
	for kind, doc := range map[string]string{
		"ClusterInformation": `{"metadata":{"name":"default"},"spec":{"datastoreReady":true}}`,
		"IPPool":             `{"metadata":{"name":"p"},"spec":{"cidr":"10.240.0.0/16","blockSize":26,"nodeSelector":"all()"}}`,
		"Node":               `{"metadata":{"name":"bipam-node"},"spec":{}}`,
	} {
		mustCreate(b, sc, kind, doc)
	}
	conf, _ := json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": "bipam", "type": "calico", "datastore_type": "etcdv3",
		"etcd_endpoints": srv.Endpoints(), "nodename": "bipam-node", "nodename_file_optional": true,
		"log_level": "warning", "log_file_path": filepath.Join(b.TempDir(), "calico.log"), "ipam": map[string]any{"type": "calico-ipam"},
	})
	state := b.TempDir()
	env := func(cmd string, i int) []string {
		return []string{"CNI_COMMAND=" + cmd, fmt.Sprintf("CNI_CONTAINERID=bipam%d-%04d", it, i), "CNI_NETNS=/var/run/netns/bipam-unused",
			"CNI_IFNAME=eth0", "CNI_PATH=" + filepath.Dir(plugin), "BRINDLE_STATE_DIR=" + state, "BRINDLE_IPAM_QUEUE=" + queue}
	}
	var failed atomic.Int64
	run := func(cmd string) ([]time.Duration, [][]byte, time.Duration) {
		lat := make([]time.Duration, n)
		outs := make([][]byte, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := exec.Command(plugin)
				c.Env = env(cmd, i)
				c.Stdin = bytes.NewReader(conf)
				var stderr bytes.Buffer
				c.Stderr = &stderr
				t0 := time.Now()
				out, err := c.Output()
				lat[i] = time.Since(t0)
				if err != nil && failed.Add(1) <= 3 {
					b.Errorf("%s call %d: %v\nstdout: %s\nstderr: %s", cmd, i, err, out, stderr.Bytes())
				}
				outs[i] = out
			}()
		}
		wg.Wait()
		return lat, outs, time.Since(start)
	}
	addLat, outs, addWall := run("ADD")
	if b.Failed() {
		return 0
	}
	distinct := map[netip.Addr]int{}
	for i, out := range outs {
		var res struct {
			IPs []struct{ Address string } `json:"ips"`
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.IPs) != 1 {
			b.Fatalf("ADD %d: result %s: %v", i, out, err)
		}
		p, err := netip.ParsePrefix(res.IPs[0].Address)
		if err != nil {
			b.Fatalf("ADD %d: address %q: %v", i, res.IPs[0].Address, err)
		}
		if j, dup := distinct[p.Addr()]; dup {
			b.Fatalf("duplicate address %s for calls %d and %d", p.Addr(), j, i)
		}
		distinct[p.Addr()] = i
	}
	delLat, _, delWall := run("DEL")
	left, _, err := sc.ListKV(ctx, store.IPAMPrefix+"handle/")
	if err != nil {
		b.Fatal(err)
	}
	if len(left) != 0 {
		b.Fatalf("%d handles left after the DELs", len(left))
	}
	b.ReportMetric(float64(addWall.Milliseconds()), "add-wall-ms")
	b.ReportMetric(ms(pct(addLat, .5)), "add-p50-ms")
	b.ReportMetric(ms(pct(addLat, .99)), "add-p99-ms")
	label := "brindle, queue " + queue
	if queue == "calico" {
		label = "Calico's calico-ipam"
	}
	fmt.Printf("%-30s %8d %9.0f %9.1f %9.1f %9d\n", "ADD, "+label, n, ms(addWall), ms(pct(addLat, .5)), ms(pct(addLat, .99)), len(distinct))
	fmt.Printf("%-30s %8d %9.0f %9.1f %9.1f %9s\n", "DEL, "+label, n, ms(delWall), ms(pct(delLat, .5)), ms(pct(delLat, .99)), "-")
	return addWall
}

// versionFloor runs n VERSION calls at once: process start and CNI boilerplate only, no
// datastore. No IPAM design can make the ADDs finish faster than this.
func versionFloor(b *testing.B, plugin string, n int) {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command(plugin)
			c.Env = []string{"CNI_COMMAND=VERSION"}
			c.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
			t0 := time.Now()
			if out, err := c.CombinedOutput(); err != nil {
				b.Errorf("VERSION: %v %s", err, out)
			}
			lat[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	b.ReportMetric(float64(wall.Milliseconds()), "wall-ms")
	fmt.Printf("%-30s %8d %9.0f %9.1f %9.1f %9s\n", "VERSION (process floor)", n, ms(wall), ms(pct(lat, .5)), ms(pct(lat, .99)), "-")
}

func mustCreate(b *testing.B, sc *store.Client, kind, doc string) {
	k, ok := api.LookupKind(kind)
	if !ok {
		b.Fatalf("kind %s not registered", kind)
	}
	r := k.NewResource()
	if err := json.Unmarshal([]byte(doc), r); err != nil {
		b.Fatal(err)
	}
	if _, err := sc.Create(context.Background(), r); err != nil {
		b.Fatal(err)
	}
}

func pct(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
