package policyagent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// connPort is where the new-connections server listens in the server pod.
const connPort = 7001

// conns is how many connections one rate run opens: bounded, because every one leaves a
// conntrack entry for two minutes and the conntrack limit is shared by the whole machine.
const conns = 3000

// allowBench comes after the 1,000 policies (order 5000) and lets the benchmark's TCP through
// both ways; the pods' traffic first walks the 20 policies that select app a0.
const allowBench = `{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3","metadata":{"name":"allow-bench"},
"spec":{"order":5000,"selector":"all()","types":["Ingress","Egress"],"ingress":[{"action":"Allow","protocol":"TCP"}],"egress":[{"action":"Allow","protocol":"TCP"}]}}`

// BenchmarkPolicyPacketPath: two pods on one host (CNI ADD, labels app=a0 role=r0), TCP
// throughput (iperf3 -t 3) and new connections per second (a Go client opening conns
// connections one after another), with no policy and with the 1,000 policies plus an allow
// at the end, alternating BPA_ROUNDS (3) times so that load from other work hits both alike.
func BenchmarkPolicyPacketPath(b *testing.B) {
	nPol := envInt("BPA_POLICIES", 1000)
	ctx := context.Background()
	c := startCluster(b, "node1")
	if _, err := c.StartAgent("node1", cluster.AgentOptions{NoBGP: true}); err != nil {
		b.Fatal(err)
	}
	labels := cluster.ContainerOptions{Labels: map[string]string{"app": "a0", "role": "r0"}}
	c1, err := c.AddContainerWith("node1", "c1", labels)
	if err != nil {
		b.Fatal(err)
	}
	c2, err := c.AddContainerWith("node1", "c2", labels)
	if err != nil {
		b.Fatal(err)
	}
	if err := cluster.WaitMatrix([]*cluster.Container{c1, c2}, 30*time.Second); err != nil {
		b.Fatal(err)
	}
	testbed.StartProc(b, c2.NS, testbed.ProcOptions{Name: "iperf", Path: "iperf3", Args: []string{"-s"}, LogDir: c.LogDir()})
	stopSrv, err := acceptServer(c2.NS)
	if err != nil {
		b.Fatal(err)
	}
	defer stopSrv()
	st, err := c.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	k, err := newKernel(c.Host("node1").Netns)
	if err != nil {
		b.Fatal(err)
	}
	// Fresh records for every round: a write fills in the resourceVersion of what it wrote.
	mkPols := func() []api.Resource {
		var pols []api.Resource
		for i := range nPol {
			pols = append(pols, gnp(b, i, 80))
		}
		return append(pols, decode[*api.GlobalNetworkPolicy](b, allowBench))
	}
	bare := k.chainRules("tw-" + c2.HostVeth)

	type sample struct{ gbps, cps float64 }
	var none, with []sample
	var pathRules int
	rounds := envInt("BPA_ROUNDS", 3)
	for range rounds {
		pols := mkPols()
		s, err := measurePath(c1, c2)
		if err != nil {
			b.Fatal(err)
		}
		none = append(none, s)
		if err := writeAll(ctx, st, pols); err != nil {
			b.Fatal(err)
		}
		// Enforced: the server pod's ingress chain holds at least a rule for each of the
		// policies that select app a0 (one in 50) and for the allow.
		if err := cluster.WaitFor(2*time.Minute, "the policies on the pods' chains", func() (bool, string) {
			pathRules = k.chainRules("tw-" + c2.HostVeth)
			return pathRules > bare+nPol/50, fmt.Sprintf("%d rules in tw-%s", pathRules, c2.HostVeth)
		}); err != nil {
			b.Fatal(err)
		}
		if s, err = measurePath(c1, c2); err != nil {
			b.Fatal(err)
		}
		with = append(with, s)
		if err := deleteAll(ctx, st, pols); err != nil {
			b.Fatal(err)
		}
		if err := cluster.WaitFor(2*time.Minute, "the policies gone", func() (bool, string) {
			n := k.chainRules("tw-" + c2.HostVeth)
			return n <= bare, fmt.Sprintf("%d rules in tw-%s", n, c2.HostVeth)
		}); err != nil {
			b.Fatal(err)
		}
	}
	mean := func(ss []sample) (g, r float64) {
		for _, s := range ss {
			g, r = g+s.gbps/float64(len(ss)), r+s.cps/float64(len(ss))
		}
		return
	}
	g0, r0 := mean(none)
	g1, r1 := mean(with)
	var rows [][]string
	for i := range none {
		rows = append(rows, []string{fmt.Sprintf("round %d", i+1), fmt.Sprintf("%.2f", none[i].gbps), fmt.Sprintf("%.2f", with[i].gbps),
			fmt.Sprintf("%.2f", with[i].gbps/none[i].gbps), fmt.Sprintf("%.0f", none[i].cps), fmt.Sprintf("%.0f", with[i].cps),
			fmt.Sprintf("%.2f", with[i].cps/none[i].cps)})
	}
	rows = append(rows, []string{"mean", fmt.Sprintf("%.2f", g0), fmt.Sprintf("%.2f", g1), fmt.Sprintf("%.2f", g1/g0),
		fmt.Sprintf("%.0f", r0), fmt.Sprintf("%.0f", r1), fmt.Sprintf("%.2f", r1/r0)})
	benchutil.Table(fmt.Sprintf("Pod-to-pod on one host, no policy vs %d GlobalNetworkPolicies (+1 allow; server pod's ingress chain: %d rules vs %d); "+
		"iperf3 -t 3 and %d sequential new TCP connections, no policy and policies alternating", nPol, pathRules, bare, conns),
		[]string{"", "Gbit/s no policy", "Gbit/s policies", "ratio", "conn/s no policy", "conn/s policies", "ratio"}, rows)
	b.ReportMetric(g1/g0, "throughput-ratio")
	b.ReportMetric(r1/r0, "conn-rate-ratio")
}

func deleteAll(ctx context.Context, st *store.Client, rs []api.Resource) error {
	for _, r := range rs {
		m := r.GetObjectMeta()
		if _, err := st.Delete(ctx, r.GetTypeMeta().Kind, m.Namespace, m.Name, ""); err != nil {
			return fmt.Errorf("deleting %s: %w", m.Name, err)
		}
	}
	return nil
}

func measurePath(c1, c2 *cluster.Container) (s struct{ gbps, cps float64 }, err error) {
	if s.gbps, err = iperf(c1.NS, c2.IP); err != nil {
		return s, err
	}
	s.cps, err = connRate(c1.NS, netip.AddrPortFrom(c2.IP, connPort))
	return s, err
}

// iperf runs one 3-second iperf3 test and returns Gbit/s at the receiver; the server may
// still be starting, so a refused run is retried.
func iperf(n *testbed.Netns, to netip.Addr) (float64, error) {
	var last string
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := n.Run(ctx, testbed.RunOptions{Path: "iperf3", Args: []string{"-c", to.String(), "-t", "3", "-J"}})
		cancel()
		var r struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
			Error string `json:"error"`
		}
		if jerr := json.Unmarshal([]byte(out), &r); err == nil && jerr == nil && r.Error == "" && r.End.SumReceived.BitsPerSecond > 0 {
			return r.End.SumReceived.BitsPerSecond / 1e9, nil
		}
		last = out
		time.Sleep(300 * time.Millisecond)
	}
	return 0, fmt.Errorf("iperf3 to %s failed: %s", to, last)
}

// acceptServer accepts connections in n and closes each after one byte, so the server side
// holds TIME_WAIT and the client's ports are free again at once.
func acceptServer(n *testbed.Netns) (func(), error) {
	var l net.Listener
	if err := n.Do(func() (err error) { l, err = net.Listen("tcp4", fmt.Sprintf(":%d", connPort)); return err }); err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte{1})
			c.Close()
		}
	}()
	return func() { l.Close() }, nil
}

// connRate opens conns connections one after another (connect, read the server's byte and
// its close) and returns connections per second.
func connRate(n *testbed.Netns, to netip.AddrPort) (float64, error) {
	var rate float64
	err := n.Do(func() error {
		buf := make([]byte, 2)
		start := time.Now()
		for i := range conns {
			c, err := net.DialTimeout("tcp4", to.String(), 2*time.Second)
			if err != nil {
				return fmt.Errorf("connection %d: %w", i, err)
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := io.ReadFull(c, buf[:1]); err != nil {
				c.Close()
				return fmt.Errorf("connection %d: %w", i, err)
			}
			c.Close()
		}
		rate = conns / time.Since(start).Seconds()
		return nil
	})
	return rate, err
}
