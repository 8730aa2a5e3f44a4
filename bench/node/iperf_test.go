package nodebench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// BenchmarkPodThroughput: TCP throughput with iperf3 (-t 3) from a container on node1 to one
// on node2, against host-to-host between the same two hosts in the same run, for a pool
// without encapsulation and one with VXLAN Always (routes from the datastore, --bgp=false).
// Host-to-host and pod-to-pod alternate three times so that load from other work hits both alike.
func BenchmarkPodThroughput(b *testing.B) {
	var rows [][]string
	for _, mode := range []string{"noencap", "vxlan"} {
		b.Run(mode, func(b *testing.B) {
			host, pod := throughput(b, mode)
			rows = append(rows, []string{mode, gbps(host), gbps(pod), fmt.Sprintf("%.2f", mean(pod)/mean(host))})
			b.ReportMetric(mean(pod)/mean(host), "pod/host")
		})
	}
	benchutil.Table("Pod-to-pod TCP throughput across hosts (iperf3 -t 3), ratio to host-to-host",
		[]string{"pool", "host-to-host Gbit/s", "pod-to-pod Gbit/s", "ratio"}, rows)
}

func throughput(b *testing.B, mode string) (host, pod []float64) {
	c := startCluster(b, testbed.Options{Subnets: []netip.Prefix{fakeSubnet},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}})
	vx := "Never"
	if mode == "vxlan" {
		vx = "Always"
	}
	if err := c.Apply(poolYAML("bench-pool", benchPool.String(), 26, "Never", vx)); err != nil {
		b.Fatal(err)
	}
	for _, h := range []string{"node1", "node2"} {
		if _, err := c.StartAgent(h, cluster.AgentOptions{NoBGP: true}); err != nil {
			b.Fatal(err)
		}
	}
	c1, err := c.AddContainer("node1", "c1")
	if err != nil {
		b.Fatal(err)
	}
	c2, err := c.AddContainer("node2", "c2")
	if err != nil {
		b.Fatal(err)
	}
	if err := cluster.WaitMatrix([]*cluster.Container{c1, c2}, 30*time.Second); err != nil {
		b.Fatal(err)
	}
	h1, h2 := c.Host("node1"), c.Host("node2")
	iperfServer(b, c, h2.Netns, "iperf-host")
	iperfServer(b, c, c2.NS, "iperf-pod")
	for range 3 {
		host = append(host, iperfClient(b, h1.Netns, h2.Addr.Addr()))
		pod = append(pod, iperfClient(b, c1.NS, c2.IP))
	}
	return host, pod
}

func iperfServer(b *testing.B, c *cluster.Cluster, n *testbed.Netns, name string) {
	testbed.StartProc(b, n, testbed.ProcOptions{Name: name, Path: "iperf3", Args: []string{"-s"}, LogDir: c.LogDir()})
}

// iperfResult is the part of iperf3's JSON report we read.
type iperfResult struct {
	End struct {
		SumReceived struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// iperfClient runs one 3-second test and returns the receiver's bits per second. The server
// may still be starting (iperf3 -J reports "connection refused" in its JSON, with exit status
// 0 in 3.12), so failures are retried for a few seconds.
func iperfClient(b *testing.B, n *testbed.Netns, to netip.Addr) float64 {
	var last string
	for try := 0; try < 20; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := n.Run(ctx, testbed.RunOptions{Path: "iperf3", Args: []string{"-c", to.String(), "-t", "3", "-J"}})
		cancel()
		var r iperfResult
		if jerr := json.Unmarshal([]byte(out), &r); err == nil && jerr == nil && r.Error == "" && r.End.SumReceived.BitsPerSecond > 0 {
			return r.End.SumReceived.BitsPerSecond
		}
		last = fmt.Sprintf("err %v, report error %q, output %.300q", err, r.Error, out)
		time.Sleep(250 * time.Millisecond)
	}
	b.Fatalf("iperf3 to %s: %s", to, last)
	return 0
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func gbps(xs []float64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.2f", x/1e9)
	}
	return fmt.Sprintf("%.2f (%s)", mean(xs)/1e9, s)
}
