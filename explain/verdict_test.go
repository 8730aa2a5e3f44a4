package explain

import (
	"strings"
	"testing"
)

// TestWalkPolicy: a denying verdict stops the walk at the hop whose agent enforces it.
func TestWalkPolicy(t *testing.T) {
	q, c := seedCluster()
	c.Facts["node01"].Policy = &PolicyFacts{Enforced: true, Verdicts: []Verdict{{Iface: "cali216bedde1dc", Direction: "ingress",
		Src: q.Src.Addr, Dst: q.Dst.Addr, Decided: "tier default policy default.deny-all rule 0 (Deny)"}}}
	c.Facts["node02"].Policy = &PolicyFacts{Enforced: true, Verdicts: []Verdict{{Iface: "calidb5654f5f5c", Direction: "egress",
		Src: q.Src.Addr, Dst: q.Dst.Addr, Allow: true, Decided: "profile kns.default rule 0 (Allow)"}}}
	r := Walk(q, c)
	last := r.Hops[len(r.Hops)-1]
	if r.OK || last.Step != "destination node" || last.Fault == nil || !strings.Contains(last.Fault.What, "policy denies the flow at ingress to workload nginx (cali216bedde1dc): tier default policy default.deny-all") {
		t.Fatalf("walk ended at %q with %+v", last.Step, last.Fault)
	}
	if !strings.Contains(strings.Join(r.Hops[1].Lines, "\n"), "policy (egress): allowed by profile kns.default rule 0 (Allow)") {
		t.Errorf("source node hop lacks the egress verdict: %v", r.Hops[1].Lines)
	}
}

func TestFlowRoundTrip(t *testing.T) {
	q, _ := seedCluster()
	q.Protocol, q.Port = "tcp", 443
	pk, ok := ParseFlow(FlowValues(q))
	if !ok || pk.Src != q.Src.Addr || pk.Dst != q.Dst.Addr || pk.Proto != 6 || pk.DPort != 443 || pk.SPort == 0 {
		t.Errorf("tcp flow read back as %+v (ok %v)", pk, ok)
	}
	q.Protocol, q.Port = "icmp", 0
	if pk, ok = ParseFlow(FlowValues(q)); !ok || pk.Proto != 1 || pk.ICMPType != 8 {
		t.Errorf("icmp flow read back as %+v (ok %v)", pk, ok)
	}
	if _, ok := ParseFlow(nil); ok {
		t.Error("a request without a flow parsed")
	}
}
