// Package policy_bench measures the policy dataplane at the scale: 1,000
// GlobalNetworkPolicies of three rules (selectors and ports) and 500 local endpoints.
// Cold start is the model's first Flush plus the one nftables transaction, against the
// baseline `nft -f` of the same ruleset (dumped with `nft list table`) into a fresh
// namespace in the same run; then single changes (policy edit, endpoint added, label
// changed) from the model update to the kernel transaction done. Needs root.
//
//	go test -run XXX -bench . -benchtime 1x ./bench/policy/
package policy_bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
)

func freshNS(b *testing.B) string {
	r := make([]byte, 3)
	rand.Read(r)
	ns := "bpolb-" + hex.EncodeToString(r)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		b.Fatalf("netns: %v %s", err, out)
	}
	b.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

func decode[T any](b *testing.B, s string) T {
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		b.Fatalf("%v: %s", err, s)
	}
	return v
}

func gnp(b *testing.B, i, port int) *api.GlobalNetworkPolicy {
	p := decode[*api.GlobalNetworkPolicy](b, fmt.Sprintf(`{"kind":"GlobalNetworkPolicy","apiVersion":"projectcalico.org/v3",
	"metadata":{"name":"default.p%d"},"spec":{"tier":"default","order":%d,"selector":"app == 'a%d'","types":["Ingress","Egress"],
	"ingress":[{"action":"Allow","protocol":"TCP","source":{"selector":"role == 'r%d'"},"destination":{"ports":[%d]}},
	           {"action":"Allow","protocol":"UDP","destination":{"ports":[53,"1000:2000"]}}],
	"egress":[{"action":"Deny","destination":{"nets":["10.99.%d.0/24"]}}]}}`, i, i, i%50, i%20, port, i%250))
	return p
}

func wep(b *testing.B, j int, app string) *api.WorkloadEndpoint {
	return decode[*api.WorkloadEndpoint](b, fmt.Sprintf(`{"kind":"WorkloadEndpoint","apiVersion":"projectcalico.org/v3",
	"metadata":{"name":"local-cni-c%d-eth0","namespace":"default","labels":{"app":"%s","role":"r%d","projectcalico.org/namespace":"default"}},
	"spec":{"node":"local","orchestrator":"cni","workload":"c%d","endpoint":"eth0","interfaceName":"cali%011d",
	"ipNetworks":["10.65.%d.%d/32"],"profiles":["net1"]}}`, j, app, j%20, j, j, j/250, j%250+1))
}

type apply struct {
	m  *policy.Model
	dp *dataplane.Dataplane
}

// run flushes the model and applies its delta; it returns the whole time and the model's
// share (Flush).
func (a apply) run(b *testing.B) (total, model time.Duration) {
	start := time.Now()
	prog, delta := a.m.Flush()
	model = time.Since(start)
	if err := a.dp.ApplyPolicyProgram(context.Background(), prog, delta); err != nil {
		b.Fatal(err)
	}
	return time.Since(start), model
}

func BenchmarkPolicyScale(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	for range b.N {
		ns := freshNS(b)
		dp, err := dataplane.New(dataplane.Options{NetNSPath: "/var/run/netns/" + ns})
		if err != nil {
			b.Fatal(err)
		}
		m := policy.New(policy.Options{Node: "local", IPv6: true}) // as the agent builds it
		m.SetConfig(policy.Config{EndpointToHost: "Drop", LogPrefix: "calico-packet", DropInvalid: true, VXLANPort: 4789})
		m.SetProfile(decode[*api.Profile](b, `{"kind":"Profile","metadata":{"name":"net1"},"spec":{"egress":[{"action":"Allow"}],
			"ingress":[{"action":"Allow","source":{"selector":"has(net1)"}}],"labelsToApply":{"net1":""}}}`))
		t0 := time.Now()
		for i := range 1000 {
			m.SetGlobalNetworkPolicy(gnp(b, i, 80))
		}
		for j := range 500 {
			m.SetWorkloadEndpoint(wep(b, j, fmt.Sprintf("a%d", j%50)))
		}
		sets := time.Since(t0)
		a := apply{m, dp}
		cold, coldModel := a.run(b)
		// Baseline: the same ruleset through nft -f in one transaction.
		tl := time.Now()
		dump, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "ip", "brindle").Output()
		if err != nil {
			b.Fatal(err)
		}
		list := time.Since(tl)
		file := filepath.Join(b.TempDir(), "ruleset.nft")
		os.WriteFile(file, dump, 0o644)
		ns2 := freshNS(b)
		t1 := time.Now()
		if out, err := exec.Command("ip", "netns", "exec", ns2, "nft", "-f", file).CombinedOutput(); err != nil {
			b.Fatalf("nft -f: %v %s", err, out)
		}
		base := time.Since(t1)
		rules := 0
		for _, c := range dump {
			if c == '\n' {
				rules++
			}
		}
		kernel := kernelFloor(b, ns)
		var edit, add, label, remote, editM, addM, labelM, remoteM []time.Duration
		for k := range 21 {
			m.SetGlobalNetworkPolicy(gnp(b, k*37%1000, 81+k))
			tot, mod := a.run(b)
			edit, editM = append(edit, tot), append(editM, mod)
			m.SetWorkloadEndpoint(wep(b, 500+k, fmt.Sprintf("a%d", k%50)))
			tot, mod = a.run(b)
			add, addM = append(add, tot), append(addM, mod)
			m.SetWorkloadEndpoint(wep(b, k*7, fmt.Sprintf("a%d", (k*7+1)%50)))
			tot, mod = a.run(b)
			label, labelM = append(label, tot), append(labelM, mod)
			// An endpoint of another node: only selector set elements change.
			rw := wep(b, 2000+k, fmt.Sprintf("a%d", k%50))
			rw.Spec.Node = "other"
			rw.Spec.IPNetworks = []string{fmt.Sprintf("10.66.0.%d/32", k+1)}
			m.SetWorkloadEndpoint(rw)
			tot, mod = a.run(b)
			remote, remoteM = append(remote, tot), append(remoteM, mod)
		}
		// A restarted agent: a new Dataplane reads the table back and finds nothing to write.
		dp2, err := dataplane.New(dataplane.Options{NetNSPath: "/var/run/netns/" + ns})
		if err != nil {
			b.Fatal(err)
		}
		prog, _ := m.Flush()
		t2 := time.Now()
		if err := dp2.ApplyPolicyProgram(context.Background(), prog, policy.Delta{Full: true}); err != nil {
			b.Fatal(err)
		}
		restart := time.Since(t2)
		restartWrites := dp2.PolicyWrites()
		dp2.Close()
		p50 := func(ds []time.Duration) time.Duration {
			slices.Sort(ds)
			return ds[len(ds)/2].Round(10 * time.Microsecond)
		}
		fmt.Printf("\n| step (1,000 GNPs x 3 rules, 500 endpoints; %d lines of nft list) | brindle total | of which model | baseline |\n|---|---|---|---|\n", rules)
		fmt.Printf("| cold start: Set calls + Flush + one transaction | %v | %v (Set calls %v) | nft -f of the same ruleset: %v (ratio %.2f) |\n",
			(sets + cold).Round(time.Millisecond), (sets + coldModel).Round(time.Millisecond), sets.Round(time.Millisecond), base.Round(time.Millisecond), float64(sets+cold)/float64(base))
		fmt.Printf("| policy edit, p50 of 21 | %v | %v | |\n| endpoint added, p50 of 21 | %v | %v | |\n| label changed, p50 of 21 | %v | %v | |\n",
			p50(edit), p50(editM), p50(add), p50(addM), p50(label), p50(labelM))
		fmt.Printf("| remote endpoint added (selector sets only), p50 of 21 | %v | %v | |\n", p50(remote), p50(remoteM))
		fmt.Printf("| restart: table read back and compared, %d transactions | %v | | nft list table: %v |\n", restartWrites, restart.Round(time.Millisecond), list.Round(time.Millisecond))
		fmt.Printf("| peak RSS of the benchmark process (model, dataplane, test harness) | %s | | |\n", peakRSS())
		fmt.Printf("| kernel floor: one `counter drop` rule added to an unreferenced chain in this table, p50 of 5 | | | %v |\n", p50(kernel))
		dp.Close()
	}
}

// kernelFloor times transactions that add one verdict rule to an unreferenced chain of the
// table: the kernel re-validates every jump path of a table whenever a transaction adds a
// rule with a verdict, so this is the least any policy change costs at this table size.
func kernelFloor(b *testing.B, ns string) []time.Duration {
	h, err := netns.GetFromName(ns)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(h)))
	if err != nil {
		b.Fatal(err)
	}
	t := &nftables.Table{Name: "brindle", Family: nftables.TableFamilyIPv4}
	ch := c.AddChain(&nftables.Chain{Name: "bench-probe", Table: t})
	if err := c.Flush(); err != nil {
		b.Fatal(err)
	}
	var out []time.Duration
	for range 5 {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}})
		start := time.Now()
		if err := c.Flush(); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(start))
	}
	c.FlushChain(ch)
	c.DelChain(ch)
	if err := c.Flush(); err != nil {
		b.Fatal(err)
	}
	return out
}

// peakRSS is VmHWM of this process.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
