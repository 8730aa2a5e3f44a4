package dataplane

import (
	"encoding/json"
	"fmt"
	"github.com/google/nftables"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
)

func mustDecode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

func testGNP(t *testing.T, i, port int, nets bool) *api.GlobalNetworkPolicy {
	dst := fmt.Sprintf(`{"ports":[%d, "%d:%d"]}`, port, port+100, port+200)
	if nets {
		dst = `{"nets":["10.98.0.0/16","10.97.0.0/16"]}`
	}
	return mustDecode[*api.GlobalNetworkPolicy](t, fmt.Sprintf(`{"kind":"GlobalNetworkPolicy","metadata":{"name":"default.p%d"},
	"spec":{"tier":"default","order":%d,"selector":"app == 'a%d'","types":["Ingress","Egress"],
	"ingress":[{"action":"Allow","protocol":"TCP","source":{"selector":"role == 'r%d'"},"destination":%s}],
	"egress":[{"action":"Deny","destination":{"nets":["10.99.%d.0/24"]}}]}}`, i, i, i%3, i%2, dst, i))
}

func testWEP(t *testing.T, j int, app string) *api.WorkloadEndpoint {
	return mustDecode[*api.WorkloadEndpoint](t, fmt.Sprintf(`{"kind":"WorkloadEndpoint",
	"metadata":{"name":"local-cni-c%d-eth0","namespace":"default","labels":{"app":"%s","role":"r%d","projectcalico.org/namespace":"default"}},
	"spec":{"node":"local","interfaceName":"cali%011d","ipNetworks":["10.65.0.%d/32","fd00:65::%d/128"],"profiles":["net1"],
	"ports":[{"name":"http","protocol":"TCP","port":8080}]}}`, j, app, j%2, j, j+1, j+1))
}

// TestPolicyDeltaMatchesFull: random edits applied through the Delta leave the kernel
// holding exactly what a full conversion of the final Program gives (chain hashes and set
// elements), and each change is one transaction.
func TestPolicyDeltaMatchesFull(t *testing.T) {
	needRoot(t)
	a := newNS(t, "d")
	dp := newDP(t, a)
	m := policy.New(policy.Options{Node: "local", IPv6: true})
	m.SetConfig(policy.Config{EndpointToHost: "Drop", LogPrefix: "calico-packet", DropInvalid: true, VXLANPort: 4789})
	m.SetProfile(mustDecode[*api.Profile](t, `{"kind":"Profile","metadata":{"name":"net1"},"spec":{"egress":[{"action":"Allow"}],
		"ingress":[{"action":"Allow","source":{"selector":"has(net1)"}},{"action":"Allow","protocol":"TCP","destination":{"ports":["http"]}}],
		"labelsToApply":{"net1":""}}}`))
	for i := range 6 {
		m.SetGlobalNetworkPolicy(testGNP(t, i, 80, false))
	}
	for j := range 6 {
		m.SetWorkloadEndpoint(testWEP(t, j, fmt.Sprintf("a%d", j%3)))
	}
	flushApply := func() {
		t.Helper()
		prog, delta := m.Flush()
		if err := dp.ApplyPolicyProgram(t.Context(), prog, delta); err != nil {
			t.Fatal(err)
		}
	}
	flushApply()
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 60 {
		before, before6 := dp.PolicyWrites(), tableWrites(dp, dp.pol6)
		switch rng.IntN(5) {
		case 0:
			m.SetGlobalNetworkPolicy(testGNP(t, rng.IntN(8), 80+step, rng.IntN(2) == 0))
		case 1:
			m.DeleteGlobalNetworkPolicy(fmt.Sprintf("default.p%d", rng.IntN(8)))
		case 2:
			m.SetWorkloadEndpoint(testWEP(t, rng.IntN(10), fmt.Sprintf("a%d", rng.IntN(4))))
		case 3:
			m.DeleteWorkloadEndpoint("default", fmt.Sprintf("local-cni-c%d-eth0", rng.IntN(10)))
		case 4:
			m.SetGlobalNetworkPolicy(testGNP(t, rng.IntN(8), 80, false))
		}
		flushApply()
		if n := dp.PolicyWrites() - before; n > 1 {
			t.Fatalf("step %d: %d transactions", step, n)
		}
		if n := tableWrites(dp, dp.pol6) - before6; n > 1 {
			t.Fatalf("step %d: %d IPv6 transactions", step, n)
		}
	}
	// A policy edit that adds and removes nothing else supersedes the policy's chain.
	m.SetGlobalNetworkPolicy(testGNP(t, 0, 9998, false))
	flushApply()
	m.SetGlobalNetworkPolicy(testGNP(t, 0, 9999, false))
	flushApply()
	prog, _ := m.Flush()
	c, err := dp.h.nft()
	if err != nil {
		t.Fatal(err)
	}
	// Both families' tables: the IPv6 one takes the same incremental path (dual-stack
	// endpoints, rules of both families).
	for _, fam := range []struct {
		v6   bool
		p    *polTable
		want *polWant
	}{{false, dp.pol, buildPolWant(SpecFromProgram(prog))}, {true, dp.pol6, buildPolWant(SpecFromProgram6(prog))}} {
		t.Run(fmt.Sprintf("v6=%v", fam.v6), func(t *testing.T) {
			checkPolTable(t, c, dp, fam.p, fam.want)
		})
	}
	// A resync converts everything and removes the inline sets nothing uses any more.
	dp.MarkResync()
	flushApply()
	for _, v6 := range []bool{false, true} {
		want := buildPolWant(SpecFromProgram(prog))
		if v6 {
			want = buildPolWant(SpecFromProgram6(prog))
		}
		have, err := readPol(c, dp.h.ns, v6)
		if err != nil {
			t.Fatal(err)
		}
		for name := range have.sets {
			if want.sets[name] == nil {
				t.Errorf("v6=%v: after resync, set %s left in the kernel", v6, name)
			}
		}
	}
}

// tableWrites counts the transactions that wrote to one policy table.
func tableWrites(dp *Dataplane, p *polTable) int {
	dp.polMu.Lock()
	defer dp.polMu.Unlock()
	return p.writes
}

// checkPolTable: the table holds superseded rules after single edits, and after the
// collection exactly what want says (chain hashes and set elements).
func checkPolTable(t *testing.T, c *nftables.Conn, dp *Dataplane, p *polTable, want *polWant) {
	have, err := readPol(c, dp.h.ns, p.v6)
	if err != nil {
		t.Fatal(err)
	}
	if len(have.dead) == 0 {
		t.Error("no chain holds superseded rules: incremental writes should only add rules")
	}
	// The collection rewrites those chains with only their current rules.
	if err := dp.collectPolicy(p); err != nil {
		t.Fatal(err)
	}
	if have, err = readPol(c, dp.h.ns, p.v6); err != nil {
		t.Fatal(err)
	}
	for name := range have.dead {
		t.Errorf("chain %s still holds superseded rules after the collection", name)
	}
	for name, cw := range want.chains {
		if have.chains[name] != cw.hash {
			t.Errorf("chain %s: kernel %q, want %q", name, have.chains[name], cw.hash)
		}
	}
	for name := range have.chains {
		if want.chains[name] == nil {
			t.Errorf("chain %s left in the kernel", name)
		}
	}
	for name, sw := range want.sets {
		hs := have.sets[name]
		if hs == nil {
			t.Errorf("set %s missing", name)
			continue
		}
		for id := range sw.elems {
			if _, ok := hs.elems[id]; !ok {
				t.Errorf("set %s lacks %q", name, id)
			}
		}
		for id := range hs.elems {
			if _, ok := sw.elems[id]; !ok {
				t.Errorf("set %s has extra %q", name, id)
			}
		}
	}
	for name := range have.sets {
		if want.sets[name] == nil && !strings.HasPrefix(name, "n-") && !strings.HasPrefix(name, "p-") {
			t.Errorf("set %s left in the kernel", name)
		}
	}
}
