package nodebench

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/node/epstatus"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
	"github.com/google/nftables"
)

const hostPolCount = 200

// hostGNP is one of the host policies: a rule that matches nothing of the benchmark's traffic
// both ways, so every new connection walks every policy.
func hostGNP(i, port int) string {
	return fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bench-h%d}
spec:
  order: %d
  selector: bench == 'on'
  types: [Ingress, Egress]
  ingress: [{action: Deny, protocol: TCP, source: {nets: [10.99.%d.%d/32]}, destination: {ports: [%d]}}]
  egress: [{action: Deny, protocol: TCP, destination: {nets: [10.99.%d.%d/32], ports: [%d]}}]
`, i, i, i/250, i%250+1, port, i/250, i%250+1, port)
}

// hostRulesGNP is the last host policy: 49 rules that match nothing, then Allow.
func hostRulesGNP() string {
	var in strings.Builder
	for k := range 49 {
		fmt.Fprintf(&in, "  - {action: Deny, protocol: TCP, source: {nets: [10.98.0.%d/32]}, destination: {ports: [%d]}}\n", k+1, 2000+k)
	}
	in.WriteString("  - {action: Allow}\n")
	return `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bench-h-rules}
spec:
  order: 100000
  selector: bench == 'on'
  types: [Ingress, Egress]
  ingress:
` + in.String() + `  egress: [{action: Allow}]
`
}

func benchHEP(on string) string {
	return `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: node1-eth0, labels: {bench: "` + on + `"}}
spec: {node: node1, interfaceName: eth0, profiles: [projectcalico-default-allow]}
`
}

// BenchmarkHostPolicy: host-to-host TCP throughput (iperf3 -t 3, node2 -> node1) with node1's
// eth0 host endpoint selected by 200 host policies plus one of 50 rules, against the same host
// endpoint with its default-allow profile only, alternating three times in one run (the
// host endpoint's label switches the policies on and off); then one host policy edit timed
// from the etcd write to the kernel rule (20 edits).
func BenchmarkHostPolicy(b *testing.B) {
	ctx := context.Background()
	c := startCluster(b, testbed.Options{Subnets: []netip.Prefix{fakeSubnet},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}})
	if err := c.Apply(poolYAML("bench-pool", benchPool.String(), 26, "Never", "Never")); err != nil {
		b.Fatal(err)
	}
	docs := []string{benchHEP("off"), hostRulesGNP()}
	for i := range hostPolCount {
		docs = append(docs, hostGNP(i, 1000+i))
	}
	for chunk := range slicesChunk(docs, 100) {
		if err := c.Apply(strings.Join(chunk, "---\n")); err != nil {
			b.Fatal(err)
		}
	}
	for _, h := range []string{"node1", "node2"} {
		if _, err := c.StartAgent(h, cluster.AgentOptions{NoBGP: true}); err != nil {
			b.Fatal(err)
		}
	}
	h1, h2 := c.Host("node1"), c.Host("node2")
	iperfServer(b, c, h1.Netns, "iperf-host")
	nc, err := nftables.New(nftables.WithNetNSFd(int(h1.NS)))
	if err != nil {
		b.Fatal(err)
	}
	sock := bgpstatus.SocketPath(c.StateDir("node1"))
	// ingressPolicies is what the agent reports for eth0's ingress hook: policy name -> chain.
	ingressPolicies := func() map[string]string {
		out := map[string]string{}
		r, err := epstatus.Fetch(ctx, sock)
		if err != nil {
			return out
		}
		for _, h := range r.HostEndpoints {
			for _, hk := range h.Hooks {
				if h.Iface == "eth0" && hk.Hook == "ingress" {
					for _, t := range hk.Tiers {
						for _, p := range t.Policies {
							out[p.Name] = p.Chain
						}
					}
				}
			}
		}
		return out
	}
	setLabel := func(on string, want int) {
		if err := c.Apply(benchHEP(on)); err != nil {
			b.Fatal(err)
		}
		if err := cluster.WaitFor(60*time.Second, "host policies "+on, func() (bool, string) {
			n := len(ingressPolicies())
			return n == want, fmt.Sprint(n)
		}); err != nil {
			b.Fatal(err)
		}
	}
	var base, pol []float64
	b.ResetTimer()
	for range 3 {
		setLabel("off", 0)
		base = append(base, iperfClient(b, h2.Netns, h1.Addr.Addr()))
		setLabel("on", hostPolCount+1)
		pol = append(pol, iperfClient(b, h2.Netns, h1.Addr.Addr()))
	}
	b.StopTimer()
	chains := ingressPolicies()
	st, err := c.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var edit []time.Duration
	for k := range 20 {
		i, port := k*37%hostPolCount, 5000+k
		name := fmt.Sprintf("bench-h%d", i)
		chain := chains[name]
		if chain == "" {
			b.Fatalf("policy %s not on eth0's ingress", name)
		}
		t0 := editIngressPort(ctx, b, st, name, port)
		at := waitChainRules(b, nc, "the edit of "+name, chain, hasPort(port))
		edit = append(edit, at.Sub(t0))
		time.Sleep(50 * time.Millisecond)
	}
	se := summarize(edit)
	b.ReportMetric(mean(pol)/mean(base), "policy/base")
	benchutil.Table(fmt.Sprintf("Host policy: %d host policies + one of 50 rules on node1's eth0 host endpoint", hostPolCount),
		[]string{"no policy Gbit/s (profile only)", "host policies Gbit/s", "ratio", "host policy edit p50 ms", "p90 ms", "max ms"},
		[][]string{{gbps(base), gbps(pol), fmt.Sprintf("%.2f", mean(pol)/mean(base)), ms(se.p50), ms(se.p90), ms(se.max)}})
}
