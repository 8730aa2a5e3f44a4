package policyverdict

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
	"github.com/brindle-net/brindle/explain"
)

var addr = netip.MustParseAddr

func order(f float64) *float64 { return &f }

func apiPort(t *testing.T, s string) []api.Port {
	p, err := api.ParsePort(s)
	if err != nil {
		t.Fatal(err)
	}
	return []api.Port{p}
}

// programFor builds a real Program with calc/policy's Model: web and db on node-a, db's
// ingress open to web on 5432, ssh denied first everywhere, egress through a profile.
func programFor(t *testing.T) *policy.Program {
	tcp := api.ProtocolFromName("TCP")
	m := policy.New(policy.Options{Node: "node-a"})
	g := func(name string, ord float64, sel string, in []api.Rule) {
		p := &api.GlobalNetworkPolicy{}
		p.Name = name
		p.Spec = api.GlobalNetworkPolicySpec{Order: order(ord), Selector: sel, Ingress: in, Types: []string{"Ingress"}}
		m.SetGlobalNetworkPolicy(p)
	}
	g("deny-ssh", 1, "all()", []api.Rule{{Action: "Deny", Protocol: &tcp, Destination: api.EntityRule{Ports: apiPort(t, "22")}}})
	g("allow-web-to-db", 10, "app == 'db'", []api.Rule{{Action: "Allow", Protocol: &tcp,
		Source: api.EntityRule{Selector: "app == 'web'"}, Destination: api.EntityRule{Ports: apiPort(t, "5432")}}})
	prof := &api.Profile{}
	prof.Name = "open"
	prof.Spec = api.ProfileSpec{Egress: []api.Rule{{Action: "Allow"}}}
	m.SetProfile(prof)
	for _, w := range []struct{ name, ip, app string }{{"web", "10.0.0.1", "web"}, {"db", "10.0.0.2", "db"}} {
		e := &api.WorkloadEndpoint{}
		e.Name, e.Namespace, e.Labels = w.name, "default", map[string]string{"app": w.app}
		e.Spec = api.WorkloadEndpointSpec{Node: "node-a", InterfaceName: "cali" + w.name, IPNetworks: []string{w.ip + "/32"}, Profiles: []string{"open"}}
		m.SetWorkloadEndpoint(e)
	}
	p, _ := m.Flush()
	return p
}

func TestEvaluate(t *testing.T) {
	p := programFor(t)
	tcp := func(port uint16) explain.Packet {
		return explain.Packet{Src: addr("10.0.0.1"), Dst: addr("10.0.0.2"), Proto: 6, SPort: 40000, DPort: port}
	}
	for _, tc := range []struct {
		name    string
		iface   string
		egress  bool
		pk      explain.Packet
		allow   bool
		decided string
	}{
		{"db allows web on 5432", "calidb", false, tcp(5432), true, "allow-web-to-db rule 0 (Allow)"},
		{"ssh denied first", "calidb", false, tcp(22), false, "deny-ssh rule 0 (Deny)"},
		{"nothing else in the tier", "calidb", false, tcp(80), false, "end of tier default"},
		{"web's egress through its profile", "caliweb", true, tcp(5432), true, "profile open rule 0 (Allow)"},
		{"icmp to db", "calidb", false, explain.Packet{Src: addr("10.0.0.1"), Dst: addr("10.0.0.2"), Proto: 1, ICMPType: 8}, false, "end of tier default"},
	} {
		v, ok := Evaluate(p, tc.iface, tc.egress, tc.pk)
		if !ok {
			t.Fatalf("%s: no endpoint %s in the program", tc.name, tc.iface)
		}
		if v.Allow != tc.allow || !strings.Contains(v.Decided, tc.decided) {
			t.Errorf("%s: allow=%v decided %q (trace %v), want %v by %q", tc.name, v.Allow, v.Decided, v.Trace, tc.allow, tc.decided)
		}
	}
	if _, ok := Evaluate(p, "calinone", false, tcp(1)); ok {
		t.Error("an unknown interface got a verdict")
	}
}
