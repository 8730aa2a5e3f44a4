package benchipam

import (
	"bytes"
	"cmp"
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
	"testing"
	"time"

	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// BenchmarkIPAMBroker is the IPAM burst on a host as it runs in production: a real node agent
// (`brindle node run`, in a host namespace of the test bed) and a real etcd (the datastore
// process in the router namespace). Every round runs, in rotating order, N ADDs at once (a
// process each) through
//   - brindle with the agent's IPAM socket (cni/broker.go),
//   - brindle going to etcd itself (BRINDLE_IPAM_BROKER=off, as on a host without agent),
//   - Calico's calico-ipam (BENCH_CALICO_BIN; left out without it),
//
// and the N DELs, checks the addresses are distinct and no handle is left, and measures the
// floor of each binary in the same round: N bare starts (CNI VERSION) at once. It prints each
// round's ratios and their medians. BENCH_IPAM_N (default 100), BENCH_IPAM_ROUNDS (default 5).
//
//	BENCH_CALICO_BIN=/work/calico-build/calico go test -run XXX -bench IPAMBroker -benchtime 1x ./bench/ipam/
func BenchmarkIPAMBroker(b *testing.B) {
	n := envInt("BENCH_IPAM_N", 100)
	rounds := envInt("BENCH_IPAM_ROUNDS", 5)
	dir := b.TempDir()
	plugin := brindleIPAM(b, dir)
	bin, err := filepath.EvalSymlinks(plugin)
	if err != nil {
		b.Fatal(err)
	}
	cal := ""
	if p := os.Getenv(CalicoEnv); p != "" {
		cal = calicoIPAM(b, dir)
	}
	cl, err := cluster.Start(cluster.Options{WorkDir: b.TempDir(), Binary: bin,
		Bed: testbed.Options{Prefix: "bipb-", Hosts: []testbed.HostOptions{{Name: "node1"}}}})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if os.Getenv("BENCH_IPAM_KEEPLOG") != "" {
		defer exec.Command("cp", "-r", cl.LogDir(), os.Getenv("BENCH_IPAM_KEEPLOG")).Run()
	}
	agent, err := cl.StartAgent("node1", cluster.AgentOptions{NoBGP: true})
	if err != nil {
		cl.LogTails(b, 30)
		b.Fatal(err)
	}
	if err := cl.Apply(`{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"bench"},"spec":{"cidr":"10.240.0.0/16","blockSize":26,"nodeSelector":"all()"}}`); err != nil {
		b.Fatal(err)
	}
	sc, err := cl.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	h := &burstHost{total: map[string]time.Duration{}, cl: cl, host: cl.Host("node1"), sc: sc, n: n, state: cl.StateDir("node1"), agentPID: agent.Proc.PID, etcdPID: cl.DatastorePID()}
	cases := []burstCase{{"brindle, agent's socket", plugin, "on"}, {"brindle, no agent (own etcd)", plugin, "off"}}
	if cal != "" {
		cases = append(cases, burstCase{"Calico's calico-ipam", cal, ""})
	}
	for range b.N {
		fmt.Printf("\nIPAM burst on one host with a running agent, %d at once, a process each, %d rounds (load at start: %s)\n", n, rounds, loadavg())
		fmt.Printf("%-32s %8s %9s %9s %9s %9s %9s %9s %9s\n", "case", "calls", "wall ms", "p50 ms", "p99 ms", "cpu/call", "agent/call", "etcd/call", "writes")
		ratios := map[string][]float64{}
		for r := range rounds {
			walls := map[string]time.Duration{}
			floors := map[string]time.Duration{}
			for i := range cases {
				cs := cases[(i+r)%len(cases)]
				walls[cs.name] = h.run(b, cs, r)
				if b.Failed() {
					return
				}
				if _, ok := floors[cs.bin]; !ok {
					floors[cs.bin] = h.floor(b, cs)
				}
			}
			line := fmt.Sprintf("round %d (load %s):", r+1, loadavg())
			if cal != "" {
				for _, cs := range cases[:2] {
					x := float64(walls[cases[2].name]) / float64(walls[cs.name])
					ratios[cs.name] = append(ratios[cs.name], x)
					c := float64(h.total[cases[2].name]) / float64(h.total[cs.name])
					ratios["cpu "+cs.name] = append(ratios["cpu "+cs.name], c)
					line += fmt.Sprintf(" Calico/%s %.2fx (CPU per call %.2fx);", cs.name, x, c)
				}
				x := float64(floors[cal]) / float64(floors[plugin])
				ratios["floor"] = append(ratios["floor"], x)
				line += fmt.Sprintf(" floors Calico %.0f ms, brindle %.0f ms", ms(floors[cal]), ms(floors[plugin]))
			}
			fmt.Println(line)
		}
		for _, cs := range cases[:2] {
			if rs := ratios[cs.name]; len(rs) > 0 {
				slices.Sort(rs)
				fmt.Printf("median Calico / %s: %.2fx (min %.2fx, max %.2fx)\n", cs.name, rs[len(rs)/2], rs[0], rs[len(rs)-1])
			}
			if rs := ratios["cpu "+cs.name]; len(rs) > 0 {
				slices.Sort(rs)
				fmt.Printf("median CPU per call (plugin+agent+etcd), Calico / %s: %.2fx (min %.2fx, max %.2fx)\n", cs.name, rs[len(rs)/2], rs[0], rs[len(rs)-1])
			}
		}
		if rs := ratios[cases[0].name]; len(rs) > 0 {
			b.ReportMetric(rs[len(rs)/2], "calico/broker-median")
		}
	}
}

type burstCase struct {
	name, bin, broker string
}

type burstHost struct {
	cl    *cluster.Cluster
	host  *testbed.Host
	sc    *store.Client
	n     int
	state string
	// CPU time of the burst's processes and of the agent, per call (ms).
	agentPID int
	etcdPID  int
	cpu      time.Duration
	total    map[string]time.Duration // the last ADD burst's CPU per call: plugin + agent + etcd
}

func (h *burstHost) conf(cs burstCase) []byte {
	c, _ := json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": "bipb", "type": "calico", "datastore_type": "etcdv3",
		"etcd_endpoints": h.cl.Endpoints, "nodename": "node1", "state_dir": h.state,
		"log_level": cmp.Or(os.Getenv("BENCH_IPAM_LOG"), "warning"), "log_file_path": filepath.Join(h.cl.LogDir(), "ipam-bench.log"),
		"ipam": map[string]any{"type": "calico-ipam", "ipv4_pools": []string{"10.240.0.0/16"}},
	})
	return c
}

// burst starts n processes of bin at once in the host's namespace and returns each one's
// stdout and latency, and the wall time until the last ended.
func (h *burstHost) burst(b *testing.B, bin string, env func(i int) []string, stdin []byte) ([][]byte, []time.Duration, time.Duration) {
	outs := make([][]byte, h.n)
	lat := make([]time.Duration, h.n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	h.cpu = 0
	start := time.Now()
	for i := range h.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command(bin)
			c.Env = env(i)
			c.Stdin = bytes.NewReader(stdin)
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			t0 := time.Now()
			err := h.host.StartCmd(c)
			if err == nil {
				err = c.Wait()
			}
			lat[i], outs[i] = time.Since(t0), stdout.Bytes()
			mu.Lock()
			if c.ProcessState != nil {
				h.cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
			}
			mu.Unlock()
			if err != nil {
				mu.Lock()
				if fails++; fails <= 3 {
					b.Errorf("%s call %d: %v\nstdout: %s\nstderr: %s", bin, i, err, stdout.Bytes(), stderr.Bytes())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return outs, lat, time.Since(start)
}

// run is one case of a round: the ADDs (timed), their check, the DELs.
func (h *burstHost) run(b *testing.B, cs burstCase, round int) time.Duration {
	conf := h.conf(cs)
	env := func(cmd string) func(int) []string {
		return func(i int) []string {
			return []string{"CNI_COMMAND=" + cmd, fmt.Sprintf("CNI_CONTAINERID=bipb-%s-%d-%04d", strings.Fields(cs.name)[0][:3]+cs.broker, round, i),
				"CNI_NETNS=/var/run/netns/bipb-unused", "CNI_IFNAME=eth0", "CNI_PATH=" + filepath.Dir(cs.bin),
				"BRINDLE_STATE_DIR=" + h.state, "BRINDLE_IPAM_BROKER=" + cs.broker}
		}
	}
	r0 := h.revision(b)
	a0, e0 := procCPU(h.agentPID), procCPU(h.etcdPID)
	outs, lat, wall := h.burst(b, cs.bin, env("ADD"), conf)
	writes := h.revision(b) - r0
	agentCPU, etcdCPU := procCPU(h.agentPID)-a0, procCPU(h.etcdPID)-e0
	h.total[cs.name] = (h.cpu + agentCPU + etcdCPU) / time.Duration(h.n)
	if b.Failed() {
		return 0
	}
	seen := map[netip.Addr]bool{}
	for i, out := range outs {
		var res struct {
			IPs []struct{ Address string } `json:"ips"`
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.IPs) != 1 {
			b.Fatalf("%s ADD %d: result %s: %v", cs.name, i, out, err)
		}
		p, err := netip.ParsePrefix(res.IPs[0].Address)
		if err != nil || seen[p.Addr()] {
			b.Fatalf("%s ADD %d: address %q duplicate or unreadable (%v)", cs.name, i, res.IPs[0].Address, err)
		}
		seen[p.Addr()] = true
	}
	fmt.Printf("%-32s %8d %9.0f %9.1f %9.1f %9.1f %9.1f %9.1f %9d\n", "ADD, "+cs.name, h.n, ms(wall), ms(pct(lat, .5)), ms(pct(lat, .99)),
		ms(h.cpu)/float64(h.n), ms(agentCPU)/float64(h.n), ms(etcdCPU)/float64(h.n), writes)
	if _, _, delWall := h.burst(b, cs.bin, env("DEL"), conf); !b.Failed() {
		fmt.Printf("%-32s %8d %9.0f %9s %9s\n", "DEL, "+cs.name, h.n, ms(delWall), "", "")
	}
	left, _, err := h.sc.ListKV(context.Background(), store.IPAMPrefix+"handle/")
	if err != nil {
		b.Fatal(err)
	}
	for _, kv := range left {
		if strings.Contains(kv.Key, "bipb") {
			b.Fatalf("%s: handle %s left after the DELs", cs.name, kv.Key)
		}
	}
	return wall
}

// floor is n bare starts of the case's binary at once (CNI VERSION: no datastore).
func (h *burstHost) floor(b *testing.B, cs burstCase) time.Duration {
	_, _, wall := h.burst(b, cs.bin, func(int) []string { return []string{"CNI_COMMAND=VERSION"} }, []byte(`{"cniVersion":"1.0.0"}`))
	name := "brindle"
	if cs.broker == "" {
		name = "Calico"
	}
	fmt.Printf("%-32s %8d %9.0f %9s %9s %9.1f\n", "VERSION (floor), "+name, h.n, ms(wall), "", "", ms(h.cpu)/float64(h.n))
	return wall
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// procCPU is the user+system time a process has used so far (0 if unknown).
func procCPU(pid int) time.Duration {
	d, _ := cluster.ProcCPU(pid)
	return d
}

// revision is etcd's revision: the writes committed so far.
func (h *burstHost) revision(b *testing.B) int64 {
	_, rev, err := h.sc.ListKV(context.Background(), "/bipb-nothing/")
	if err != nil {
		b.Fatal(err)
	}
	return rev
}
