package nodebench

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/node/epstatus"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// Policy scale of issue #11: 1,000 GlobalNetworkPolicies of three rules, 500 local endpoints.
const (
	polCount = 1000
	epCount  = 500
)

func polGNP(i, port int) string {
	return fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bench-p%d}
spec:
  order: %d
  selector: app == 'a%d'
  types: [Ingress, Egress]
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: role == 'r%d'}, destination: {ports: [%d]}}
  - {action: Allow, protocol: UDP, destination: {ports: [53, "1000:2000"]}}
  egress:
  - {action: Deny, destination: {nets: [10.99.%d.0/24]}}
`, i, i, i%50, i%20, port, i%250)
}

func polWEP(j int, app string) string {
	return fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node1-cni-c%d-eth0
  namespace: default
  labels: {app: %s, role: r%d, projectcalico.org/namespace: default, projectcalico.org/orchestrator: cni}
spec: {node: node1, orchestrator: cni, workload: c%d, endpoint: eth0, interfaceName: %s,
  ipNetworks: [%s/32], profiles: [bench-net]}
`, j, app, j%20, j, polIface(j), polAddr(j))
}

func polIface(j int) string { return fmt.Sprintf("calib%010d", j) }

func polAddr(j int) netip.Addr { return netip.AddrFrom4([4]byte{10, 70, byte(j >> 8), byte(j)}) }

// BenchmarkPolicyAgent: the records are written first, then `brindle node run --bgp=false`
// starts on a host whose 500 workload interfaces exist, and we time until the kernel
// dispatches every endpoint (tw-map holds 500 elements: one transaction writes them all).
// Then single changes through etcd, each timed from the etcd write to the kernel
// notification of the rule that enforces it. Baselines in the same run: `nft -f` of the
// ruleset the agent wrote, into a sibling namespace.
func BenchmarkPolicyAgent(b *testing.B) {
	ctx := context.Background()
	c := startCluster(b, testbed.Options{Subnets: []netip.Prefix{fakeSubnet},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "base"}}})
	if err := c.Apply(poolYAML("bench-pool", "10.70.0.0/16", 26, "Never", "Never")); err != nil {
		b.Fatal(err)
	}
	var docs []string
	docs = append(docs, `apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: bench-net}
spec:
  egress: [{action: Allow}]
  ingress: [{action: Allow, source: {selector: has(bench-net)}}]
  labelsToApply: {bench-net: ""}
`)
	for i := range polCount {
		docs = append(docs, polGNP(i, 80))
	}
	for j := range epCount {
		docs = append(docs, polWEP(j, fmt.Sprintf("a%d", j%50)))
	}
	wstart := time.Now()
	for chunk := range slicesChunk(docs, 200) {
		if err := c.Apply(strings.Join(chunk, "---\n")); err != nil {
			b.Fatal(err)
		}
	}
	write := time.Since(wstart)
	h := c.Host("node1")
	var batch strings.Builder
	for j := range epCount + 25 {
		fmt.Fprintf(&batch, "link add %s type veth peer name pb%d\nlink set %s up\n", polIface(j), j, polIface(j))
	}
	cmd := exec.Command("ip", "-n", h.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("workload interfaces: %v %s", err, out)
	}
	nc, err := nftables.New(nftables.WithNetNSFd(int(h.NS)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	a, err := c.StartAgent("node1", cluster.AgentOptions{NoBGP: true})
	if err != nil {
		b.Fatal(err)
	}
	ready := time.Since(start)
	tw := &nftables.Set{Table: &nftables.Table{Name: "brindle", Family: nftables.TableFamilyIPv4}, Name: "tw-map"}
	var enforced time.Duration
	for time.Since(start) < 2*time.Minute {
		if es, err := nc.GetSetElements(tw); err == nil && len(es) >= epCount {
			enforced = time.Since(start)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	if enforced == 0 {
		b.Fatal("the agent never dispatched every endpoint")
	}
	time.Sleep(2 * time.Second)
	rss, _ := vmRSS(a.Proc.PID)
	hwm, _ := benchutil.ProcKiB(a.Proc.PID, "VmHWM:")

	// Baseline: the same ruleset through nft -f into the sibling host.
	dump, err := h.Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"list", "table", "ip", "brindle"}})
	if err != nil {
		b.Fatal(err)
	}
	base := c.Host("base")
	t0 := time.Now()
	if out, err := base.Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"-f", "-"}, Stdin: strings.NewReader(dump)}); err != nil {
		b.Fatalf("nft -f: %v %s", err, out)
	}
	nftF := time.Since(t0)

	st, err := c.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// Which chain enforces which policy, and each endpoint's chain, from the agent's status
	// socket (what `brindle node endpoints` prints).
	reply, err := epstatus.Fetch(ctx, bgpstatus.SocketPath(c.StateDir("node1")))
	if err != nil {
		b.Fatal(err)
	}
	chainOf := map[string]string{}
	for _, e := range reply.Endpoints {
		for _, t := range e.Ingress.Tiers {
			for _, p := range t.Policies {
				chainOf[p.Name] = p.Chain
			}
		}
	}
	nft := &nftables.Table{Name: "brindle", Family: nftables.TableFamilyIPv4}
	head := func(rules []*nftables.Rule) string {
		if len(rules) == 0 {
			return ""
		}
		return string(rules[0].UserData)
	}
	var edit, add, label []time.Duration
	for k := range 20 {
		// A policy edited: its ingress port changes.
		i, port := k*37%polCount, 3000+k
		name := fmt.Sprintf("bench-p%d", i)
		t0 := editIngressPort(ctx, b, st, name, port)
		chain := chainOf[name]
		if chain == "" {
			b.Fatalf("policy %s applies to no endpoint", name)
		}
		at := waitChainRules(b, nc, "the edited policy", chain, hasPort(port))
		edit = append(edit, at.Sub(t0))
		// An endpoint added.
		j := epCount + k
		t0 = time.Now()
		if err := c.Apply(polWEP(j, fmt.Sprintf("a%d", k%50))); err != nil {
			b.Fatal(err)
		}
		at = waitChainRules(b, nc, "the new endpoint", "fw-"+polIface(j), func(rs []*nftables.Rule) bool { return len(rs) > 0 })
		add = append(add, at.Sub(t0)) // includes the CLI's start: see the table note
		// A label changed: the endpoint moves to another app's policies. After a pause, so
		// that the agent has finished with the endpoint just added (its route and sysctls
		// come after policy) and the label change is timed alone.
		time.Sleep(200 * time.Millisecond)
		j = k * 7
		w, err := store.GetAs[*api.WorkloadEndpoint](ctx, st, "default", fmt.Sprintf("node1-cni-c%d-eth0", j))
		if err != nil {
			b.Fatal(err)
		}
		w.Labels["app"] = fmt.Sprintf("a%d", (j+1)%50)
		rs, err := nc.GetRules(nft, &nftables.Chain{Name: "fw-" + polIface(j), Table: nft})
		if err != nil {
			b.Fatal(err)
		}
		before := head(rs)
		t0 = time.Now()
		if _, err := st.Update(ctx, w); err != nil {
			b.Fatal(err)
		}
		at = waitChainRules(b, nc, "the relabelled endpoint", "fw-"+polIface(j), func(rs []*nftables.Rule) bool { return head(rs) != before && len(rs) > 0 })
		label = append(label, at.Sub(t0))
		time.Sleep(50 * time.Millisecond)
	}
	se, sa, sl := summarize(edit), summarize(add), summarize(label)
	benchutil.Table(fmt.Sprintf("Policy: agent start to enforced, %d GlobalNetworkPolicies x 3 rules, %d local endpoints (records written in %s)", polCount, epCount, write.Round(time.Millisecond)),
		[]string{"agent ready ms", "every endpoint enforced ms", "nft -f same ruleset ms", "ratio", "RSS MiB", "peak RSS MiB",
			"edit p50 ms", "edit p90", "endpoint added p50 ms (incl. CLI start)", "label change p50 ms", "label p90"},
		[][]string{{ms(ready), ms(enforced), ms(nftF), ratio(enforced, nftF), fmt.Sprintf("%.1f", float64(rss)/1024), fmt.Sprintf("%.1f", float64(hwm)/1024),
			ms(se.p50), ms(se.p90), ms(sa.p50), ms(sl.p50), ms(sl.p90)}})
}
