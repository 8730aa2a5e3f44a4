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
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/dataplane"
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

func (a apply) run(b *testing.B) time.Duration {
	start := time.Now()
	prog, _ := a.m.Flush()
	if err := a.dp.ApplyPolicy(context.Background(), dataplane.SpecFromProgram(prog)); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
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
		m := policy.New(policy.Options{Node: "local"})
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
		a := apply{m, dp}
		cold := a.run(b)
		cold += time.Since(t0) - cold // include the Set calls
		// Baseline: the same ruleset through nft -f in one transaction.
		dump, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "table", "ip", "brindle").Output()
		if err != nil {
			b.Fatal(err)
		}
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
		var edit, add, label []time.Duration
		for k := range 21 {
			m.SetGlobalNetworkPolicy(gnp(b, k*37%1000, 81+k))
			edit = append(edit, a.run(b))
			m.SetWorkloadEndpoint(wep(b, 500+k, fmt.Sprintf("a%d", k%50)))
			add = append(add, a.run(b))
			m.SetWorkloadEndpoint(wep(b, k*7, fmt.Sprintf("a%d", (k*7+1)%50)))
			label = append(label, a.run(b))
		}
		p50 := func(ds []time.Duration) time.Duration { slices.Sort(ds); return ds[len(ds)/2] }
		fmt.Printf("\n| step (1,000 GNPs x 3 rules, 500 endpoints; %d lines of nft list) | brindle | baseline |\n|---|---|---|\n", rules)
		fmt.Printf("| cold start: model + one transaction | %v | nft -f same ruleset: %v (ratio %.2f) |\n", cold.Round(time.Millisecond), base.Round(time.Millisecond), float64(cold)/float64(base))
		fmt.Printf("| policy edit, p50 of 21 | %v | |\n| endpoint added, p50 of 21 | %v | |\n| label changed, p50 of 21 | %v | |\n",
			p50(edit).Round(10*time.Microsecond), p50(add).Round(10*time.Microsecond), p50(label).Round(10*time.Microsecond))
		dp.Close()
	}
}
