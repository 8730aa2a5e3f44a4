package policy

import (
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

type probe struct {
	ep     string // local endpoint name
	egress bool
	pk     packet
	want   string
}

// baseWorld: local endpoints a (10.0.0.1, app=a) and b (10.0.0.2, app=b, named port http
// 8080/TCP, dns 53/UDP) in namespace default, remote r (10.0.1.1, app=r) on node-b, and
// x (10.0.2.1, app=x) in namespace dev on node-b.
func baseWorld(m *Model) {
	m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}))
	b := wep("", "default", "b", "10.0.0.2", map[string]string{"app": "b"})
	b.Spec.Ports = []api.WorkloadEndpointPort{
		{Name: "http", Protocol: api.ProtocolFromName("TCP"), Port: 8080},
		{Name: "dns", Protocol: api.ProtocolFromName("UDP"), Port: 53},
	}
	m.SetWorkloadEndpoint(b)
	m.SetWorkloadEndpoint(wep("node-b", "default", "r", "10.0.1.1", map[string]string{"app": "r"}))
	m.SetWorkloadEndpoint(wep("node-b", "dev", "x", "10.0.2.1", map[string]string{"app": "x"}, "kns.dev"))
	m.SetProfile(profile("kns.dev", map[string]string{"pcns.name": "dev"}, nil, nil))
}

func fromSel(sel string) api.EntityRule { return api.EntityRule{Selector: sel} }

func TestSemantics(t *testing.T) {
	none := api.EntityRule{}
	allowFrom := func(sel string) []api.Rule { return []api.Rule{allow(fromSel(sel), none)} }
	denyFrom := func(sel string) []api.Rule {
		return []api.Rule{{Action: api.ActionDeny, Source: fromSel(sel)}}
	}
	cases := []struct {
		name   string
		setup  func(m *Model)
		probes []probe
		warn   string // a warning that must be reported
	}{
		{"nothing applies: drop both ways", func(m *Model) {}, []probe{
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 80), "deny"},
		}, ""},
		{"default-allow profile", func(m *Model) {
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, DefaultAllowProfile))
		}, []probe{
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 80), "allow"},
		}, ""},
		{"ingress policy: default deny once selected, egress untouched", func(m *Model) {
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, DefaultAllowProfile))
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", allowFrom("app == 'r'"), nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 80), "allow"},
		}, ""},
		{"types default to Egress with only egress rules", func(m *Model) {
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, DefaultAllowProfile))
			m.SetGlobalNetworkPolicy(gnp("default.out", nil, "app == 'a'", nil, []api.Rule{allow(none, fromSel("app == 'r'"))}))
		}, []probe{
			{"a", true, tcpTo("10.0.0.1", "10.0.1.1", 80), "allow"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 80), "deny"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"},
		}, ""},
		{"explicit types both with no egress rules: egress dropped", func(m *Model) {
			g := gnp("default.both", nil, "app == 'a'", allowFrom("all()"), nil)
			g.Spec.Types = []string{"Ingress", "Egress"}
			m.SetGlobalNetworkPolicy(g)
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, DefaultAllowProfile))
		}, []probe{
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 80), "deny"},
		}, ""},
		{"policy order: lower first", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.z-deny", ptr(10.0), "app == 'a'", denyFrom("app == 'r'"), nil))
			m.SetGlobalNetworkPolicy(gnp("default.a-allow", ptr(20.0), "app == 'a'", allowFrom("app == 'r'"), nil))
		}, []probe{{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"}}, ""},
		{"policy order: nil order last", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.a-allow", nil, "app == 'a'", allowFrom("app == 'r'"), nil))
			m.SetGlobalNetworkPolicy(gnp("default.z-deny", ptr(1e9), "app == 'a'", denyFrom("app == 'r'"), nil))
		}, []probe{{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"}}, ""},
		{"policy order tie: by name", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.b-deny", ptr(5.0), "app == 'a'", denyFrom("app == 'r'"), nil))
			m.SetGlobalNetworkPolicy(gnp("default.a-allow", ptr(5.0), "app == 'a'", allowFrom("app == 'r'"), nil))
		}, []probe{{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"}}, ""},
		{"nil order tie: by name", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.a-deny", nil, "app == 'a'", denyFrom("app == 'r'"), nil))
			m.SetGlobalNetworkPolicy(gnp("default.b-allow", nil, "app == 'a'", allowFrom("app == 'r'"), nil))
		}, []probe{{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"}}, ""},
		{"Pass goes to the next tier", func(m *Model) {
			m.SetTier(tier("sec", ptr(100.0), "Deny"))
			m.SetGlobalNetworkPolicy(&api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "sec.pass"},
				Spec: api.GlobalNetworkPolicySpec{Tier: "sec", Selector: "all()", Ingress: []api.Rule{{Action: api.ActionPass, Source: fromSel("app == 'r'")}}}})
			m.SetGlobalNetworkPolicy(gnp("default.allow", nil, "all()", allowFrom("all()"), nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"}, // end of tier sec
		}, ""},
		{"tier defaultAction Pass", func(m *Model) {
			m.SetTier(tier("sec", ptr(100.0), "Pass"))
			m.SetGlobalNetworkPolicy(&api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "sec.deny-x"},
				Spec: api.GlobalNetworkPolicySpec{Tier: "sec", Selector: "all()", Ingress: denyFrom("app == 'x'")}})
			m.SetGlobalNetworkPolicy(gnp("default.allow", nil, "all()", allowFrom("all()"), nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.2.1", "10.0.0.1", 80), "deny"},
		}, ""},
		{"tier without order after the default tier; missing tier last", func(m *Model) {
			m.SetTier(tier("late", nil, "Deny"))
			m.SetGlobalNetworkPolicy(&api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "late.deny"},
				Spec: api.GlobalNetworkPolicySpec{Tier: "late", Selector: "all()", Ingress: denyFrom("all()")}})
			m.SetGlobalNetworkPolicy(&api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "aaa.deny"},
				Spec: api.GlobalNetworkPolicySpec{Tier: "aaa", Selector: "all()", Ingress: denyFrom("all()")}})
			m.SetGlobalNetworkPolicy(gnp("default.allow", nil, "all()", allowFrom("app == 'r'"), nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"},
		}, ""},
		{"Pass in the last tier reaches the profiles", func(m *Model) {
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, "p1"))
			m.SetProfile(profile("p1", nil, allowFrom("app == 'r'"), nil))
			m.SetGlobalNetworkPolicy(gnp("default.pass", nil, "all()", []api.Rule{{Action: api.ActionPass}}, nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"},
		}, ""},
		{"profiles in order, Deny in a profile is final", func(m *Model) {
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, "p1", "p2"))
			m.SetProfile(profile("p1", nil, denyFrom("app == 'r'"), nil))
			m.SetProfile(profile("p2", nil, allowFrom("all()"), nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"},
		}, ""},
		{"Log does not decide", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.log", nil, "all()", []api.Rule{{Action: api.ActionLog}, allow(none, none)}, nil))
		}, []probe{{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"}}, ""},
		{"NetworkPolicy: own namespace only, rule selectors scoped", func(m *Model) {
			m.SetNetworkPolicy(np("default", "default.np", nil, "all()", allowFrom("app == 'x' || app == 'r'"), nil))
			m.SetWorkloadEndpoint(wep("", "dev", "d", "10.0.0.9", map[string]string{"app": "d"}, DefaultAllowProfile))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.2.1", "10.0.0.1", 80), "deny"},  // x is in dev
			{"d", false, tcpTo("10.0.2.1", "10.0.0.9", 80), "allow"}, // not selected: profile
		}, ""},
		{"namespaceSelector pcns labels and all()", func(m *Model) {
			m.SetNetworkPolicy(np("default", "default.np", nil, "app == 'a'", []api.Rule{
				allow(api.EntityRule{NamespaceSelector: "name == 'dev'"}, none)}, nil))
			m.SetNetworkPolicy(np("default", "default.np2", nil, "app == 'b'", []api.Rule{
				allow(api.EntityRule{NamespaceSelector: "all()", Selector: "app == 'x'"}, none)}, nil))
		}, []probe{
			{"a", false, tcpTo("10.0.2.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"},
			{"b", false, tcpTo("10.0.2.1", "10.0.0.2", 80), "allow"},
		}, ""},
		{"namespaceSelector global() matches GlobalNetworkSets", func(m *Model) {
			gs := &api.GlobalNetworkSet{ObjectMeta: api.ObjectMeta{Name: "ext", Labels: map[string]string{"role": "ext"}},
				Spec: api.GlobalNetworkSetSpec{Nets: []string{"192.0.2.0/24"}}}
			m.SetGlobalNetworkSet(gs)
			m.SetNetworkPolicy(np("default", "default.np", nil, "app == 'a'", []api.Rule{
				allow(api.EntityRule{NamespaceSelector: "global()", Selector: "role == 'ext'"}, none)}, nil))
			m.SetNetworkPolicy(np("default", "default.np2", nil, "app == 'b'", allowFrom("role == 'ext'"), nil))
		}, []probe{
			{"a", false, tcpTo("192.0.2.7", "10.0.0.1", 80), "allow"},
			{"b", false, tcpTo("192.0.2.7", "10.0.0.2", 80), "deny"}, // scoped to namespace default
		}, ""},
		{"NetworkSet in the policy's namespace", func(m *Model) {
			ns := &api.NetworkSet{ObjectMeta: api.ObjectMeta{Name: "n", Namespace: "default", Labels: map[string]string{"role": "ext"}},
				Spec: api.NetworkSetSpec{Nets: []string{"198.51.100.0/24", "198.51.100.5"}}}
			m.SetNetworkSet(ns)
			m.SetNetworkPolicy(np("default", "default.np", nil, "app == 'a'", allowFrom("role == 'ext'"), nil))
		}, []probe{
			{"a", false, tcpTo("198.51.100.9", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("198.51.101.9", "10.0.0.1", 80), "deny"},
		}, ""},
		{"serviceAccounts by name and by selector", func(m *Model) {
			s1 := wep("node-b", "default", "s1", "10.0.1.5", nil, "ksa.default.api")
			s1.Spec.ServiceAccountName = "api"
			m.SetWorkloadEndpoint(s1)
			s2 := wep("node-b", "default", "s2", "10.0.1.6", nil)
			s2.Spec.ServiceAccountName = "web"
			m.SetWorkloadEndpoint(s2)
			m.SetProfile(profile("ksa.default.api", map[string]string{"pcsa.tier": "backend"}, nil, nil))
			m.SetNetworkPolicy(np("default", "default.byname", nil, "app == 'a'", []api.Rule{
				allow(api.EntityRule{ServiceAccounts: &api.ServiceAccountMatch{Names: []string{"web"}}}, none)}, nil))
			m.SetNetworkPolicy(np("default", "default.bysel", nil, "app == 'b'", []api.Rule{
				allow(api.EntityRule{ServiceAccounts: &api.ServiceAccountMatch{Selector: "tier == 'backend'"}}, none)}, nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.6", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.1.5", "10.0.0.1", 80), "deny"},
			{"b", false, tcpTo("10.0.1.5", "10.0.0.2", 80), "allow"},
			{"b", false, tcpTo("10.0.1.6", "10.0.0.2", 80), "deny"},
		}, ""},
		{"named ports, ranges and numeric ports together", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.out", nil, "app == 'a'", nil, []api.Rule{
				{Action: api.ActionAllow, Protocol: tcp(), Destination: api.EntityRule{Selector: "app == 'b'", Ports: ports("http", "9000:9010")}},
				{Action: api.ActionAllow, Protocol: udp(), Destination: api.EntityRule{Ports: ports("dns")}},
			}))
		}, []probe{
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 8080), "allow"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 9005), "allow"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 80), "deny"},
			{"a", true, tcpTo("10.0.0.1", "10.0.1.1", 9005), "deny"}, // r is not app b
			{"a", true, udpTo("10.0.0.1", "10.0.0.2", 53), "allow"},
			{"a", true, udpTo("10.0.0.1", "10.0.0.2", 8080), "deny"},
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 53), "deny"},
		}, ""},
		{"notPorts named and numeric", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.out", nil, "app == 'a'", nil, []api.Rule{
				{Action: api.ActionAllow, Protocol: tcp(), Destination: api.EntityRule{NotPorts: ports("http", "22")}}}))
		}, []probe{
			{"a", true, tcpTo("10.0.0.1", "10.0.0.2", 8080), "deny"},
			{"a", true, tcpTo("10.0.0.1", "10.0.1.1", 8080), "allow"},
			{"a", true, tcpTo("10.0.0.1", "10.0.1.1", 22), "deny"},
		}, ""},
		{"nets, notNets and notSelector", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", []api.Rule{
				allow(api.EntityRule{Nets: []string{"10.0.0.0/16", "fd00::/8"}, NotNets: []string{"10.0.2.0/24"}}, none),
				allow(api.EntityRule{NotSelector: "app == 'b'"}, none)}, nil))
		}, []probe{
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("192.0.2.1", "10.0.0.1", 80), "allow"}, // second rule: not app b
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"},  // first rule: in 10.0/16
		}, ""},
		{"notSelector alone excludes", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", []api.Rule{
				allow(api.EntityRule{NotSelector: "app == 'b'"}, none)}, nil))
		}, []probe{
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"},
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
		}, ""},
		{"ipVersion 6 rule does not match IPv4", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", []api.Rule{{Action: api.ActionAllow, IPVersion: ptr(6)}}, nil))
		}, []probe{{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"}}, ""},
		{"nets of the other family only: rule absent", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", []api.Rule{allow(api.EntityRule{Nets: []string{"fd00::/8"}}, none)}, nil))
		}, []probe{{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"}}, ""},
		{"ICMP type and code, notICMP", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", []api.Rule{
				{Action: api.ActionAllow, Protocol: icmp(), ICMP: &api.ICMPFields{Type: ptr(8), Code: ptr(0)}},
				{Action: api.ActionAllow, Protocol: icmp(), NotICMP: &api.ICMPFields{Type: ptr(8)}, Source: fromSel("app == 'r'")},
			}, nil))
		}, []probe{
			{"a", false, ping("10.0.0.2", "10.0.0.1", 8, 0), "allow"},
			{"a", false, ping("10.0.0.2", "10.0.0.1", 8, 1), "deny"},
			{"a", false, ping("10.0.0.2", "10.0.0.1", 13, 0), "deny"},
			{"a", false, ping("10.0.1.1", "10.0.0.1", 13, 0), "allow"},
			{"a", false, ping("10.0.1.1", "10.0.0.1", 8, 1), "deny"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"},
		}, ""},
		{"protocol by number, notProtocol", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", []api.Rule{
				{Action: api.ActionAllow, Protocol: protoN(17)},
				{Action: api.ActionAllow, NotProtocol: tcp(), Source: fromSel("app == 'r'")}}, nil))
		}, []probe{
			{"a", false, udpTo("10.0.0.2", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"},
			{"a", false, ping("10.0.1.1", "10.0.0.1", 8, 0), "allow"},
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"},
		}, ""},
		{"http rule skipped, never treated as Allow", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.l7", nil, "app == 'a'", []api.Rule{
				{Action: api.ActionAllow, Protocol: tcp(), HTTP: &api.HTTPMatch{Methods: []string{"GET"}}}}, nil))
		}, []probe{{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"}}, "ingress[0] skipped: http match"},
		{"services rule skipped", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.svc", nil, "app == 'a'", []api.Rule{
				allow(api.EntityRule{Services: &api.ServiceMatch{Name: "kube-dns", Namespace: "kube-system"}}, none)}, nil))
		}, []probe{{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "deny"}}, "services match"},
		{"labels inherited from profiles select endpoints", func(m *Model) {
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", nil, "net1"))
			m.SetProfile(profile("net1", map[string]string{"net1": ""}, allowFrom("has(net1)"), []api.Rule{allow(none, none)}))
			m.SetWorkloadEndpoint(wep("node-b", "default", "peer", "10.0.1.9", nil, "net1"))
		}, []probe{
			{"a", false, tcpTo("10.0.1.9", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"},
			{"a", true, tcpTo("10.0.0.1", "10.0.1.1", 80), "allow"},
		}, ""},
		{"own label wins over profile label", func(m *Model) {
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"role": "own"}, "p"))
			m.SetProfile(profile("p", map[string]string{"role": "inherited"}, nil, nil))
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "role == 'own'", allowFrom("all()"), nil))
		}, []probe{{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"}}, ""},
		{"namespace and orchestrator labels as clientv3 stores them", func(m *Model) {
			w := wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"})
			w.Spec.Orchestrator = "cni"
			m.SetWorkloadEndpoint(w)
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "projectcalico.org/orchestrator == 'cni' && projectcalico.org/namespace == 'default'",
				allowFrom("projectcalico.org/namespace == 'dev'"), nil))
		}, []probe{
			{"a", false, tcpTo("10.0.2.1", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("10.0.1.1", "10.0.0.1", 80), "deny"},
			{"b", false, tcpTo("10.0.2.1", "10.0.0.2", 80), "deny"}, // b: no orchestrator, no policy, no profile
		}, ""},
		{"host endpoints' expectedIPs and named ports are set members", func(m *Model) {
			h := &api.HostEndpoint{ObjectMeta: api.ObjectMeta{Name: "h1", Labels: map[string]string{"role": "host"}},
				Spec: api.HostEndpointSpec{Node: "node-b", InterfaceName: "eth0", ExpectedIPs: []string{"172.16.0.5"},
					Ports: []api.EndpointPort{{Name: "metrics", Protocol: api.ProtocolFromName("TCP"), Port: 9100}}}}
			m.SetHostEndpoint(h)
			m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", allowFrom("role == 'host'"),
				[]api.Rule{{Action: api.ActionAllow, Protocol: tcp(), Destination: api.EntityRule{Ports: ports("metrics")}}}))
		}, []probe{
			{"a", false, tcpTo("172.16.0.5", "10.0.0.1", 80), "allow"},
			{"a", false, tcpTo("172.16.0.6", "10.0.0.1", 80), "deny"},
			{"a", true, tcpTo("10.0.0.1", "172.16.0.5", 9100), "allow"},
			{"a", true, tcpTo("10.0.0.1", "172.16.0.5", 9101), "deny"},
		}, ""},
		{"doNotTrack and preDNAT policies do not apply to workloads", func(m *Model) {
			g := gnp("default.untracked", nil, "all()", denyFrom("all()"), nil)
			g.Spec.DoNotTrack, g.Spec.ApplyOnForward = true, true
			m.SetGlobalNetworkPolicy(g)
			m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, DefaultAllowProfile))
		}, []probe{{"a", false, tcpTo("10.0.0.2", "10.0.0.1", 80), "allow"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := New(Options{Node: testNode})
			baseWorld(m)
			c.setup(m)
			p, d := m.Flush()
			checkConsistent(t, p)
			for _, pr := range c.probes {
				if got := verdict(p, iface(pr.ep), pr.egress, pr.pk); got != pr.want {
					t.Errorf("%s %v egress=%v: %s, want %s", pr.ep, pr.pk, pr.egress, got, pr.want)
				}
			}
			if c.warn != "" {
				found := false
				for _, w := range d.Warnings {
					found = found || strings.Contains(w.Reason, c.warn)
				}
				if !found {
					t.Errorf("no warning containing %q in %v", c.warn, d.Warnings)
				}
			}
		})
	}
}

// checkConsistent checks the Program's own invariants: every chain an endpoint lists exists,
// every set a rule references exists, and nothing unreferenced is present.
func checkConsistent(t *testing.T, p *Program) {
	t.Helper()
	usedC := map[ChainID]bool{}
	for _, ep := range p.Endpoints {
		forChains(ep, func(id ChainID) { usedC[id] = true })
	}
	usedS := map[SetID]bool{}
	for id := range usedC {
		ch := p.Chains[id]
		if ch == nil {
			t.Errorf("chain %s listed but missing", id)
			continue
		}
		for _, r := range ch.Rules {
			for _, m := range []Match{r.Src, r.Dst} {
				for _, l := range [][]SetID{m.Sets, m.NotSets, m.NamedPortSets, m.NotNamedPortSets} {
					for _, s := range l {
						usedS[s] = true
						if p.Sets[s] == nil {
							t.Errorf("set %s referenced by %s but missing", s, id)
						}
					}
				}
			}
		}
	}
	for id := range p.Chains {
		if !usedC[id] {
			t.Errorf("chain %s present but not referenced", id)
		}
	}
	for id := range p.Sets {
		if !usedS[id] {
			t.Errorf("set %s present but not referenced", id)
		}
	}
}
