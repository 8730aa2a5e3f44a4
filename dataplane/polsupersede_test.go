package dataplane

import (
	"fmt"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
)

// TestPolicySupersededEnforced: single changes go through the incremental path, which
// supersedes chains instead of rewriting them; real pings show that the new rules and not
// the superseded ones decide, for a policy edit and for a label change (the endpoint's
// own chains), before and after the collection, and across a restart.
func TestPolicySupersededEnforced(t *testing.T) {
	needRoot(t)
	a := newNS(t, "s")
	sh(t, "ip", "-n", a, "addr", "add", "169.254.1.1/32", "dev", "lo")
	w1, i1 := workload(t, a, "1", "10.65.0.1")
	_, i2 := workload(t, a, "2", "10.65.0.2")
	dp := newDP(t, a)
	m := policy.New(policy.Options{Node: "local"})
	m.SetConfig(policy.Config{EndpointToHost: "Drop", DropInvalid: true, VXLANPort: 4789})
	m.SetProfile(mustDecode[*api.Profile](t, `{"kind":"Profile","metadata":{"name":"net1"},"spec":{"egress":[{"action":"Allow"}],
		"ingress":[{"action":"Allow","source":{"selector":"has(net1)"}}],"labelsToApply":{"net1":""}}}`))
	wep := func(n int, iface, app string) *api.WorkloadEndpoint {
		return mustDecode[*api.WorkloadEndpoint](t, fmt.Sprintf(`{"kind":"WorkloadEndpoint",
		"metadata":{"name":"local-cni-c%d-eth0","namespace":"default","labels":{"app":"%s","projectcalico.org/namespace":"default"}},
		"spec":{"node":"local","interfaceName":"%s","ipNetworks":["10.65.0.%d/32"],"profiles":["net1"]}}`, n, app, iface, n))
	}
	icmp := func(name, app, action string) *api.GlobalNetworkPolicy {
		return mustDecode[*api.GlobalNetworkPolicy](t, fmt.Sprintf(`{"kind":"GlobalNetworkPolicy","metadata":{"name":"default.%s"},
		"spec":{"tier":"default","order":10,"selector":"app == '%s'","types":["Ingress"],
		"ingress":[{"action":"%s","protocol":"ICMP"}]}}`, name, app, action))
	}
	m.SetWorkloadEndpoint(wep(1, i1, "client"))
	m.SetWorkloadEndpoint(wep(2, i2, "x"))
	m.SetGlobalNetworkPolicy(icmp("px", "x", "Deny"))
	m.SetGlobalNetworkPolicy(icmp("py", "y", "Deny"))
	flushApply := func() {
		t.Helper()
		prog, delta := m.Flush()
		if err := dp.ApplyPolicyProgram(t.Context(), prog, delta); err != nil {
			t.Fatal(err)
		}
	}
	list := func() string { return sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip", "brindle") }
	flushApply()
	if pings(w1, "10.65.0.2") {
		t.Fatalf("px denies ICMP to app x:\n%s", list())
	}
	// A policy edit: px now allows ICMP.
	m.SetGlobalNetworkPolicy(icmp("px", "x", "Allow"))
	flushApply()
	if !pings(w1, "10.65.0.2") {
		t.Fatalf("the edited px (Allow) did not let the ping through:\n%s", list())
	}
	if len(dp.pol.have.dead) == 0 {
		t.Errorf("the edit was not written by superseding:\n%s", list())
	}
	prog, _ := m.Flush()
	var px string
	for _, e := range prog.Endpoints[i2].Ingress.Tiers {
		px = string(e.Policies[0])
	}
	c, err := dp.ChainCounters([]string{px})
	if err != nil || len(c[px]) != 2 || c[px][1].Tag != "r0:Allow" || c[px][1].Packets == 0 {
		t.Errorf("counters of %s stop at the superseded rules: %+v %v", px, c, err)
	}
	// A label change: w2 moves to app y, whose policy denies.
	m.SetWorkloadEndpoint(wep(2, i2, "y"))
	flushApply()
	if pings(w1, "10.65.0.2") {
		t.Fatalf("after the label change py should deny:\n%s", list())
	}
	m.SetWorkloadEndpoint(wep(2, i2, "x"))
	flushApply()
	if !pings(w1, "10.65.0.2") {
		t.Fatalf("back to app x, px allows:\n%s", list())
	}
	// The collection removes the superseded rules; nothing changes for packets.
	if err := dp.collectPolicy(dp.pol); err != nil {
		t.Fatal(err)
	}
	if len(dp.pol.have.dead) != 0 {
		t.Errorf("after the collection still dead: %v", dp.pol.have.dead)
	}
	if !pings(w1, "10.65.0.2") {
		t.Fatalf("after the collection px allows:\n%s", list())
	}
	// Superseded rules left by one reconciler are collected by the next one's first apply.
	m.SetGlobalNetworkPolicy(icmp("px", "x", "Deny"))
	flushApply()
	dp2 := newDP(t, a)
	prog, _ = m.Flush()
	if err := dp2.ApplyPolicyProgram(t.Context(), prog, policy.Delta{Full: true}); err != nil {
		t.Fatal(err)
	}
	if n := dp2.PolicyWrites(); n != 1 {
		t.Errorf("restart over superseded rules sent %d transactions, want 1 (the collection)", n)
	}
	if len(dp2.pol.have.dead) != 0 {
		t.Errorf("restart left superseded rules in %v", dp2.pol.have.dead)
	}
	if pings(w1, "10.65.0.2") {
		t.Fatalf("after the restart px denies:\n%s", list())
	}
	dp3 := newDP(t, a)
	if err := dp3.ApplyPolicyProgram(t.Context(), prog, policy.Delta{Full: true}); err != nil {
		t.Fatal(err)
	}
	if n := dp3.PolicyWrites(); n != 0 {
		t.Errorf("a second restart sent %d transactions, want 0", n)
	}
}
