package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/node/epstatus"
)

func TestWriteNodeEndpoints(t *testing.T) {
	r := &epstatus.Reply{Programmed: true, Endpoints: []epstatus.Endpoint{{
		Iface: "cali1", Namespace: "default", Name: "n1-cni-a-eth0", Addrs: []string{"10.65.0.1/32"},
		Ingress: epstatus.Direction{Chain: "tw-cali1",
			Tiers: []epstatus.Tier{{Name: "security", EndOfTierPass: true, Policies: []epstatus.Policy{{Name: "security.audit", Chain: "pi-a",
				Rules: []epstatus.Counter{{Rule: "entered", Packets: 9, Bytes: 900}, {Rule: "r0:Pass", Packets: 9, Bytes: 900}}}}},
				{Name: "default", Policies: []epstatus.Policy{{Name: "allow-web", Chain: "pi-b",
					Rules: []epstatus.Counter{{Rule: "entered", Packets: 9, Bytes: 900}, {Rule: "r0:Allow", Packets: 7, Bytes: 700}}}}}},
			Profiles: []epstatus.Policy{{Name: "net1", Chain: "ri-n"}},
			Steps:    []epstatus.Counter{{Rule: "entered", Packets: 9}, {Rule: "policy:pi-a"}, {Rule: "tier-drop:default", Packets: 2, Bytes: 200}}},
	}}}
	var b bytes.Buffer
	writeNodeEndpoints(&b, r, nil)
	out := b.String()
	for _, want := range []string{"Workload endpoint default/n1-cni-a-eth0 (interface cali1, 10.65.0.1/32)",
		"security (pass)", "rule 0 Pass", "rule 0 Allow", "(not programmed)", "tier-drop:default", "(nothing applies: every packet is dropped)"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "security.audit"), strings.Index(out, "allow-web"); i < 0 || j < i {
		t.Errorf("policies out of order:\n%s", out)
	}
	if strings.Contains(out, "policy:pi-a") {
		t.Errorf("jump steps belong to the policy rows, not the endpoint rows:\n%s", out)
	}
	b.Reset()
	writeNodeEndpoints(&b, r, []string{"cali9"})
	if !strings.Contains(b.String(), "No workload endpoints") {
		t.Errorf("filter: %s", b.String())
	}
}
