package dataplane

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/calc/policy"
)

// workload6 is workload with an IPv6 address as well: addr6/128 in the workload, a default
// route via the host side's link-local fe80::1 (Calico routes via a fixed link-local the
// same way), a /128 route to it on the host.
func workload6(t *testing.T, a, tag, addr, addr6 string) (ns, iface string) {
	t.Helper()
	ns, iface = workload(t, a, tag, addr)
	sh(t, "ip", "netns", "exec", a, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	sh(t, "ip", "-n", a, "addr", "add", "fe80::1/64", "dev", iface, "nodad")
	sh(t, "ip", "-n", a, "-6", "route", "add", addr6+"/128", "dev", iface)
	sh(t, "ip", "-n", ns, "addr", "add", addr6+"/128", "dev", "eth0", "nodad")
	sh(t, "ip", "-n", ns, "-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0")
	return ns, iface
}

// pings6 is pings for IPv6, optionally from a given source address.
func pings6(ns, dst, src string) bool {
	args := []string{"ip", "netns", "exec", ns, "ping", "-6", "-c", "1", "-W", "1"}
	if src != "" {
		args = append(args, "-I", src)
	}
	for range 2 {
		if _, err := shOK(append(args, dst)...); err == nil {
			return true
		}
	}
	return false
}

func dualWEP(t *testing.T, j int, app string) *api.WorkloadEndpoint {
	return mustDecode[*api.WorkloadEndpoint](t, fmt.Sprintf(`{"kind":"WorkloadEndpoint",
	"metadata":{"name":"local-cni-c%d-eth0","namespace":"default","labels":{"app":"%s","projectcalico.org/namespace":"default"}},
	"spec":{"node":"local","interfaceName":"cali%s","ipNetworks":["10.65.0.%d/32","fd00:65::%d/128"],"profiles":["net1"]}}`,
		j, app, strings.Repeat(fmt.Sprint(j), 11), j, j))
}

// TestPolicyIPv6: the Model's Program with IPv6 enforced in `ip6 brindle` with the same
// semantics as IPv4: a deny stops ping and ping6, an allow restores both, an ipVersion 6
// rule affects IPv6 only, a forged IPv6 source is dropped, workload to host follows
// defaultEndpointToHostAction, and neighbour discovery keeps working throughout.
func TestPolicyIPv6(t *testing.T) {
	needRoot(t)
	a := newNS(t, "v6")
	sh(t, "ip", "-n", a, "addr", "add", "169.254.1.1/32", "dev", "lo")
	w1, _ := workload6(t, a, "1", "10.65.0.1", "fd00:65::1")
	w2, _ := workload6(t, a, "2", "10.65.0.2", "fd00:65::2")
	if !pings(w1, "10.65.0.2") || !pings6(w1, "fd00:65::2", "") || !pings6(w2, "fd00:65::1", "") {
		t.Fatal("no connectivity before any policy")
	}
	dp := newDP(t, a)
	m := policy.New(policy.Options{Node: "local", IPv6: true})
	m.SetConfig(policy.Config{EndpointToHost: "Drop", DropInvalid: true, VXLANPort: 4789})
	m.SetProfile(mustDecode[*api.Profile](t, `{"kind":"Profile","metadata":{"name":"net1"},"spec":{"egress":[{"action":"Allow"}],
		"ingress":[{"action":"Allow","source":{"selector":"has(net1)"}}],"labelsToApply":{"net1":""}}}`))
	m.SetWorkloadEndpoint(dualWEP(t, 1, "a"))
	m.SetWorkloadEndpoint(dualWEP(t, 2, "b"))
	flush := func() {
		t.Helper()
		prog, delta := m.Flush()
		if err := dp.ApplyPolicyProgram(t.Context(), prog, delta); err != nil {
			t.Fatal(err)
		}
	}
	both := func(what string, v4, v6 bool) {
		t.Helper()
		if got := pings(w1, "10.65.0.2"); got != v4 {
			t.Errorf("%s: IPv4 ping got through: %v, want %v", what, got, v4)
		}
		if got := pings6(w1, "fd00:65::2", ""); got != v6 {
			t.Errorf("%s: IPv6 ping got through: %v, want %v", what, got, v6)
		}
	}
	flush()
	both("profile", true, true)
	gnp := func(ingress string) {
		m.SetGlobalNetworkPolicy(mustDecode[*api.GlobalNetworkPolicy](t, `{"kind":"GlobalNetworkPolicy","metadata":{"name":"default.p"},
		"spec":{"tier":"default","order":1,"selector":"app == 'b'","types":["Ingress"],"ingress":`+ingress+`}}`))
		flush()
	}
	gnp(`[{"action":"Deny"}]`)
	both("deny all", false, false)
	gnp(`[{"action":"Allow"}]`)
	both("allow all", true, true)
	gnp(`[{"action":"Allow","ipVersion":6}]`)
	both("allow ipVersion 6", false, true)
	gnp(`[{"action":"Allow","ipVersion":4}]`)
	both("allow ipVersion 4", true, false)
	gnp(`[{"action":"Allow","protocol":"ICMPv6","icmp":{"type":128}},{"action":"Allow","protocol":"ICMP"}]`)
	both("allow echo request by ICMPv6 type and ICMP", true, true)
	gnp(`[{"action":"Allow","protocol":"ICMPv6","icmp":{"type":129}},{"action":"Allow","protocol":"ICMP"}]`)
	both("allow ICMPv6 echo reply only", true, false)
	gnp(`[{"action":"Allow","source":{"nets":["fd00:65::1/128"]}}]`)
	both("allow from one IPv6 net", false, true)
	gnp(`[{"action":"Allow","source":{"selector":"app == 'a'"}}]`)
	both("allow by selector (sets of both families)", true, true)
	// Anti-spoofing: a second address in the workload that is not its endpoint's.
	sh(t, "ip", "-n", w1, "addr", "add", "fd00:65::99/128", "dev", "eth0", "nodad")
	if pings6(w1, "fd00:65::2", "fd00:65::99") {
		t.Error("a forged IPv6 source got through")
	}
	if !pings6(w1, "fd00:65::2", "fd00:65::1") {
		t.Error("the endpoint's own IPv6 source was dropped")
	}
	// Workload to host: defaultEndpointToHostAction Drop, for IPv6 as for IPv4.
	if pings6(w1, "fe80::1%eth0", "") {
		t.Error("workload to host over IPv6 must be dropped by defaultEndpointToHostAction Drop")
	}
	m.SetConfig(policy.Config{EndpointToHost: "Accept", DropInvalid: true, VXLANPort: 4789})
	flush()
	if !pings6(w1, "fe80::1%eth0", "") {
		t.Error("workload to host over IPv6 not accepted with defaultEndpointToHostAction Accept")
	}
	// A restart recognises the IPv6 chains: nothing is written.
	dp2 := newDP(t, a)
	prog, _ := m.Flush()
	if err := dp2.ApplyPolicyProgram(t.Context(), prog, policy.Delta{Full: true}); err != nil {
		t.Fatal(err)
	}
	if n := dp2.PolicyWrites(); n != 0 {
		t.Errorf("restart with the same Program sent %d transactions", n)
	}
}

// goldenSpec6 is goldenSpec in IPv6 terms: sets of ipv6_addr and of ipv6_addr . inet_proto
// . inet_service, ICMPv6, inline IPv6 nets.
func goldenSpec6() PolicySpec {
	p := netip.MustParsePrefix
	rule := func(action string) PolRule {
		return PolRule{Action: action, ICMPType: -1, ICMPCode: -1, NotICMPType: -1, NotICMPCode: -1}
	}
	web := rule(ActionAllow)
	web.Proto = 6
	web.Src = PolMatch{Sets: []string{"s.sel-frontend"}, NotNets: []netip.Prefix{p("fd00:66::/64")}}
	web.Dst = PolMatch{Ports: []PortRange{{80, 80}, {8000, 8100}}, PortSets: []string{"s.np-http"}}
	ping := rule(ActionAllow)
	ping.Proto, ping.ICMPType, ping.ICMPCode, ping.Index = 58, 128, 0, 1
	deny := rule(ActionDeny)
	deny.Index = 2
	deny.Src.Nets = []netip.Prefix{p("fd00:1::/32"), p("fd00:2::/32")}
	return PolicySpec{
		V6: true, ToHost: "Drop", DropInvalid: true, VXLANPort: 4789,
		Sets: map[string]PolSet{
			"s.sel-frontend": {Kind: SetNets, Nets: []netip.Prefix{p("fd00:65::1/128"), p("fd00:65::8/125"), p("fd00:65::9/128")}},
			"s.np-http":      {Kind: SetNamedPorts, Ports: []NamedPort{{netip.MustParseAddr("fd00:65::2"), 6, 8080}}},
		},
		Chains: map[string]PolChain{
			"pi-web":  {Rules: []PolRule{web, ping, deny}},
			"ri-net1": {Rules: []PolRule{rule(ActionAllow)}},
			"ro-net1": {Rules: []PolRule{rule(ActionAllow)}},
		},
		Endpoints: map[string]PolEndpoint{
			"cali0000000001": {Sources: []netip.Prefix{p("fd00:65::2/128"), p("fd00:70::/120")},
				Ingress: PolDirection{Tiers: []PolTier{{Name: "default", Policies: []string{"pi-web"}}}, Profiles: []string{"ri-net1"}},
				Egress:  PolDirection{Profiles: []string{"ro-net1"}}},
			"cali0000000002": {Sources: []netip.Prefix{p("fd00:65::3/128")}},
		},
	}
}

// TestPolicyGolden6 is TestPolicyGolden for `ip6 brindle` (testdata/policy6.nft), written
// next to NAT66's objects, which both reconcilers leave to each other.
func TestPolicyGolden6(t *testing.T) {
	checkPolicyGolden(t, "g6", goldenSpec6, "policy6.nft")
}

// TestNAT66KeepsPolicy6: NAT66 comes and goes beside the IPv6 policy in `ip6 brindle`; each
// reconciler replaces only its own objects, and the table stays while the policy is in it.
func TestNAT66KeepsPolicy6(t *testing.T) {
	needRoot(t)
	a, _ := dualPair(t)
	dp := newDP(t, a)
	applyPol(t, dp, goldenSpec6())
	s := dualState("node-a")
	apply(t, dp, calc.Compute(s))
	out := sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip6", "brindle")
	mustContain(t, out, "chain postrouting", "chain pol-forward", "chain fw-cali0000000001", "set all-pools")
	s.DeletePool(netip.MustParsePrefix("fd00:10::/112"))
	apply(t, dp, calc.Compute(s))
	out = sh(t, "ip", "netns", "exec", a, "nft", "list", "table", "ip6", "brindle")
	mustContain(t, out, "chain pol-forward", "chain fw-cali0000000001")
	mustNotContain(t, out, "chain postrouting", "set all-pools")
	w0 := dp.PolicyWrites()
	dp2 := newDP(t, a)
	applyPol(t, dp2, goldenSpec6())
	if n := dp2.PolicyWrites(); n != 0 || dp.PolicyWrites() != w0 {
		t.Errorf("the NAT66 changes disturbed the policy objects (%d writes after a restart)", n)
	}
}
