// Package benchcni measures the CNI plugin as a runtime calls it: a fresh process per ADD
// and DEL, sequentially and 100 at once on one host, next to the bare kernel steps of the
// same wiring without datastore or IPAM. Run as root:
//
//	go test -run XXX -bench CNI -benchtime 1x ./bench/cni/
//
// BENCH_CNI_N sets the sequential sample count (default 60).
package benchcni

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

func build(b *testing.B, dir, name, pkg string) string {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v %s", pkg, err, o)
	}
	return out
}

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

func (p *nsPool) cleanup() {
	for _, n := range p.names {
		_ = exec.Command("ip", "netns", "del", n).Run()
	}
}

// timed runs one process and returns its wall time.
func timed(b *testing.B, env []string, stdin []byte, prog string, args ...string) time.Duration {
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Errorf("%s %v: %v\n%s\n%s", prog, args, err, so.String(), se.String())
	}
	return d
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

func BenchmarkCNI(b *testing.B) {
	if os.Getenv(hostns.Env) == "" {
		b.Skip("needs root (runs inside a host namespace)")
	}
	n := 60
	if v, err := strconv.Atoi(os.Getenv("BENCH_CNI_N")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	plugin := build(b, dir, "calico", "./test/cni/cnimain")
	bare := build(b, dir, "bare", "./bench/cni/bare")

	srv, sc := datastore.StartTest(b)
	ctx := context.Background()
	for kind, doc := range map[string]string{
		"ClusterInformation": `{"metadata":{"name":"default"},"spec":{"datastoreReady":true}}`,
		"IPPool":             `{"metadata":{"name":"p"},"spec":{"cidr":"10.250.0.0/16","blockSize":26,"nodeSelector":"all()"}}`,
	} {
		k, _ := api.LookupKind(kind)
		r := k.NewResource()
		_ = json.Unmarshal([]byte(doc), r)
		if _, err := sc.Create(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	conf, _ := json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": "bnet", "type": "calico", "datastore_type": "etcdv3",
		"etcd_endpoints": srv.Endpoints(), "nodename": "bnode", "mtu": 1480, "log_level": "warning",
		"ipam": map[string]any{"type": "calico-ipam"},
	})
	env := func(cmd, id, netns string) []string {
		return []string{"CNI_COMMAND=" + cmd, "CNI_CONTAINERID=" + id, "CNI_NETNS=" + netns, "CNI_IFNAME=eth0", "CNI_PATH=" + dir}
	}
	pool := &nsPool{b: b}
	defer pool.cleanup()

	b.ResetTimer()
	for range b.N {
		var addT, delT, bareAddT, bareDelT []time.Duration
		for i := 0; i < n; i++ {
			ns := pool.add()
			id := fmt.Sprintf("seq%06d", i)
			addT = append(addT, timed(b, env("ADD", id, ns), conf, plugin))
			delT = append(delT, timed(b, env("DEL", id, ns), conf, plugin))
			veth := fmt.Sprintf("calibare%d", i)
			ip := fmt.Sprintf("10.251.%d.%d", i/250, i%250+1)
			bareAddT = append(bareAddT, timed(b, nil, nil, bare, "add", ns, veth, ip))
			bareDelT = append(bareDelT, timed(b, nil, nil, bare, "del", ns, veth, ip))
		}

		// 100 ADDs at once on one host, then 100 DELs at once.
		const conc = 100
		nss := make([]string, conc)
		for i := range nss {
			nss[i] = pool.add()
		}
		run := func(cmd string) ([]time.Duration, time.Duration) {
			ds := make([]time.Duration, conc)
			var wg sync.WaitGroup
			start := time.Now()
			for i := range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ds[i] = timed(b, env(cmd, fmt.Sprintf("conc%04d", i), nss[i]), conf, plugin)
				}()
			}
			wg.Wait()
			return ds, time.Since(start)
		}
		cAdd, cAddWall := run("ADD")
		cDel, cDelWall := run("DEL")

		fmt.Printf("\nCNI plugin, fresh process per call (n=%d sequential; %d concurrent)\n", n, conc)
		fmt.Printf("%-44s %9s %9s\n", "operation", "p50 ms", "p99 ms")
		fmt.Printf("%-44s %9s %9s\n", "ADD (plugin, etcd + in-process IPAM)", ms(pct(addT, .5)), ms(pct(addT, .99)))
		fmt.Printf("%-44s %9s %9s\n", "DEL (plugin)", ms(pct(delT, .5)), ms(pct(delT, .99)))
		fmt.Printf("%-44s %9s %9s\n", "bare ADD (same netlink steps, no etcd/IPAM)", ms(pct(bareAddT, .5)), ms(pct(bareAddT, .99)))
		fmt.Printf("%-44s %9s %9s\n", "bare DEL", ms(pct(bareDelT, .5)), ms(pct(bareDelT, .99)))
		fmt.Printf("%-44s %9s %9s   wall %s ms\n", "100 concurrent ADDs, per call", ms(pct(cAdd, .5)), ms(pct(cAdd, .99)), ms(cAddWall))
		fmt.Printf("%-44s %9s %9s   wall %s ms\n", "100 concurrent DELs, per call", ms(pct(cDel, .5)), ms(pct(cDel, .99)), ms(cDelWall))
		fmt.Printf("ADD p50 / bare ADD p50 = %.2fx; Calico's ADD (observed) ~100 ms = %.1fx ours\n",
			float64(pct(addT, .5))/float64(pct(bareAddT, .5)), 100/(float64(pct(addT, .5).Microseconds())/1000))
	}
}
