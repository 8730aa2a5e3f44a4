// Package dockerbench measures `docker run` on brindle's Docker plugin against Docker's own
// bridge driver and `--network none`, all in one dockerd (Debian's docker.io) in a host
// namespace of the e2e test bed, interleaved so machine load hits every driver alike.
// Needs root, docker.io and a built binary (`make build`; BRINDLE_BIN=path for another).
//
//	make build && go test -run XXX -bench . -benchtime 1x -timeout 20m ./bench/docker/
package dockerbench

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

func setup(b *testing.B) (*cluster.Cluster, *cluster.DockerHost) {
	testbed.RequireRoot(b)
	cluster.RequireDocker(b)
	c, err := cluster.Start(cluster.Options{Bed: testbed.Options{Prefix: "bdb-", Subnets: []netip.Prefix{netip.MustParsePrefix("172.31.9.0/24")},
		Hosts: []testbed.HostOptions{{Name: "node1"}}}, Binary: benchutil.BrindleBin(b), WorkDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	c.CloseWhenDone(b, 40)
	if err := c.Apply(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: bench-pool}
spec: {cidr: 10.77.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never, nodeSelector: all()}
`); err != nil {
		b.Fatal(err)
	}
	if _, err := c.StartAgent("node1", cluster.AgentOptions{NoBGP: true}); err != nil {
		b.Fatal(err)
	}
	d := cluster.StartDocker(b, c, "node1")
	d.ImportBusybox(b)
	d.MustDocker(b, "network", "create", "-d", d.Driver, "--ipam-driver", d.Driver, "bnet")
	// Docker's bridge driver without iptables (dockerd runs with --iptables=false).
	d.MustDocker(b, "network", "create", "-d", "bridge", "--subnet", "10.78.0.0/24", "bbr")
	return c, d
}

// BenchmarkDockerRun: `docker run -d` wall time (client start to container running) per
// network; the network part is each driver's p50 less the p50 of --network none.
func BenchmarkDockerRun(b *testing.B) {
	_, d := setup(b)
	nets := []string{"none", "bbr", "bnet"}
	label := map[string]string{"none": "--network none", "bbr": "Docker bridge driver", "bnet": "brindle plugin"}
	times := map[string][]time.Duration{}
	const rounds = 20
	for i := range rounds + 2 {
		for _, n := range nets {
			name := fmt.Sprintf("r%s%d", n, i)
			t0 := time.Now()
			if _, err := d.Docker("run", "-d", "--name", name, "--network", n, "bdkbox", "/bin/sleep", "3600"); err != nil {
				b.Fatal(err)
			}
			el := time.Since(t0)
			if i >= 2 { // two warm-up rounds
				times[n] = append(times[n], el)
			}
			if _, err := d.Docker("rm", "-f", name); err != nil {
				b.Fatal(err)
			}
		}
	}
	base := p(times["none"], 0.5)
	var rows [][]string
	for _, n := range nets {
		rows = append(rows, []string{label[n], fmt.Sprint(len(times[n])), ms(p(times[n], 0.5)), ms(p(times[n], 0.9)),
			ms(p(times[n], 0.5) - base)})
	}
	benchutil.Table("docker run -d, one dockerd in a test-bed host namespace, interleaved rounds",
		[]string{"network", "n", "p50 ms", "p90 ms", "network part p50 ms (p50 - none p50)"}, rows)
	benchutil.Table("brindle plugin: time inside each call (from its debug log), all rounds",
		[]string{"method", "calls", "p50 ms", "p90 ms"}, pluginTimes(d.Plugin.Logs()))
}

// pluginTimes groups the "took" of the plugin's per-request debug lines by method.
func pluginTimes(logs string) [][]string {
	by := map[string][]time.Duration{}
	for _, l := range strings.Split(logs, "\n") {
		var e struct {
			Msg, Method string
			Took        float64 // zap's JSON encoder writes durations in seconds
		}
		if json.Unmarshal([]byte(l), &e) != nil || e.Msg != "docker plugin request" {
			continue
		}
		by[e.Method] = append(by[e.Method], time.Duration(e.Took*float64(time.Second)))
	}
	var rows [][]string
	for _, m := range []string{"IpamDriver.RequestAddress", "NetworkDriver.CreateEndpoint", "NetworkDriver.Join",
		"NetworkDriver.ProgramExternalConnectivity", "NetworkDriver.EndpointOperInfo", "NetworkDriver.Leave",
		"NetworkDriver.DeleteEndpoint", "IpamDriver.ReleaseAddress"} {
		rows = append(rows, []string{m, fmt.Sprint(len(by[m])), ms(p(by[m], 0.5)), ms(p(by[m], 0.9))})
	}
	return rows
}

// BenchmarkDockerConcurrent: 50 `docker run -d` at once on the brindle network; every one
// must succeed with its own address.
func BenchmarkDockerConcurrent(b *testing.B) {
	_, d := setup(b)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.Docker("run", "-d", "--name", fmt.Sprintf("c%d", i), "--network", "bnet", "bdkbox", "/bin/sleep", "3600")
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			b.Error(err)
		}
	}
	ips := map[string]string{}
	for i := range n {
		ip, err := d.Docker("inspect", "-f", "{{.NetworkSettings.Networks.bnet.IPAddress}}", fmt.Sprintf("c%d", i))
		if err != nil || ip == "" {
			continue
		}
		if other, dup := ips[ip]; dup {
			b.Errorf("duplicate address %s: c%d and %s", ip, i, other)
		}
		ips[ip] = fmt.Sprintf("c%d", i)
	}
	benchutil.Table("50 concurrent docker run -d on the brindle network, one host",
		[]string{"containers", "failed", "distinct addresses", "wall s"},
		[][]string{{fmt.Sprint(n), fmt.Sprint(failed), fmt.Sprint(len(ips)), fmt.Sprintf("%.1f", wall.Seconds())}})
	if len(ips) != n {
		b.Errorf("want %d distinct addresses, got %d", n, len(ips))
	}
}

func p(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
