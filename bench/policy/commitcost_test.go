package policy_bench

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
)

// BenchmarkPolicyCommitCost times the kernel alone on brindle's table at the scale
// (1,000 policies x 500 endpoints, written by the reconciler first): transactions that
// change one policy chain of three rules in different ways, and one verdict-map element.
// It is the measurement behind dataplane/polsupersede.go: a transaction that deletes
// rules (or a verdict-map element) is several times dearer than one that only adds them.
//
//	go test -run XXX -bench PolicyCommitCost -benchtime 1x ./bench/policy/
func BenchmarkPolicyCommitCost(b *testing.B) {
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
		for i := range 1000 {
			m.SetGlobalNetworkPolicy(gnp(b, i, 80))
		}
		for j := range 500 {
			m.SetWorkloadEndpoint(wep(b, j, fmt.Sprintf("a%d", j%50)))
		}
		apply{m, dp}.run(b)
		dp.Close()
		h, err := netns.GetFromName(ns)
		if err != nil {
			b.Fatal(err)
		}
		c, err := nftables.New(nftables.WithNetNSFd(int(h)))
		if err != nil {
			b.Fatal(err)
		}
		t := &nftables.Table{Name: "brindle", Family: nftables.TableFamilyIPv4}
		prog, _ := m.Flush()
		var chain string
		for id := range prog.Chains {
			if s := string(id); len(s) > 3 && s[:3] == "pi-" && (chain == "" || s < chain) {
				chain = s
			}
		}
		ch := &nftables.Chain{Name: chain, Table: t}
		orig, err := c.GetRules(t, ch)
		if err != nil {
			b.Fatal(err)
		}
		add := func(insert bool) {
			for _, r := range orig {
				nr := &nftables.Rule{Table: t, Chain: ch, Exprs: r.Exprs, UserData: r.UserData}
				if insert {
					c.InsertRule(nr)
				} else {
					c.AddRule(nr)
				}
			}
		}
		flush := func() time.Duration {
			s := time.Now()
			if err := c.Flush(); err != nil {
				b.Fatal(err)
			}
			return time.Since(s)
		}
		tw := &nftables.Set{Name: "tw-map", Table: t, IsMap: true, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict}
		elem := func(chain string) []nftables.SetElement {
			k := make([]byte, 16)
			copy(k, "cali00000000000")
			return []nftables.SetElement{{Key: k, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain}}}
		}
		steps := []struct {
			name string
			prep func()
			run  func()
		}{
			{"append the chain's 3 rules again (adds only)", nil, func() { add(false) }},
			{"insert 3 rules and a return at the head (brindle's supersede)", nil, func() {
				c.InsertRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictReturn}}})
				add(true)
			}},
			{"flush the chain (deletes only)", func() { add(false) }, func() { c.FlushChain(ch) }},
			{"flush and refill the chain (the old incremental write)", nil, func() { c.FlushChain(ch); add(false) }},
			{"replace one verdict-map element (delete + add)", nil, func() {
				c.SetDeleteElements(tw, elem("tw-cali00000000000"))
				c.SetAddElements(tw, elem("tw-cali00000000000"))
			}},
		}
		fmt.Printf("\n| one transaction on brindle's table (%s, 3 rules), p50 / min of 9 | time |\n|---|---|\n", chain)
		for _, st := range steps {
			var ds []time.Duration
			for range 9 {
				if st.prep != nil {
					st.prep()
					flush()
				}
				time.Sleep(20 * time.Millisecond)
				st.run()
				ds = append(ds, flush())
			}
			slices.Sort(ds)
			fmt.Printf("| %s | %v / %v |\n", st.name, ds[4].Round(10*time.Microsecond), ds[0].Round(10*time.Microsecond))
		}
		c.CloseLasting()
		h.Close()
	}
}
