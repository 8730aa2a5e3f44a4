package policy

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

func TestEndpointStructure(t *testing.T) {
	m := New(Options{Node: testNode})
	baseWorld(m)
	m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"}, "p1", DefaultAllowProfile))
	m.SetTier(tier("late", nil, "Pass"))
	m.SetTier(tier("early", ptr(5.0), "Deny"))
	in := []api.Rule{allow(api.EntityRule{}, api.EntityRule{})}
	for _, p := range []*api.GlobalNetworkPolicy{
		{ObjectMeta: api.ObjectMeta{Name: "aaa.x"}, Spec: api.GlobalNetworkPolicySpec{Tier: "aaa", Selector: "all()", Ingress: in}},
		{ObjectMeta: api.ObjectMeta{Name: "late.x"}, Spec: api.GlobalNetworkPolicySpec{Tier: "late", Selector: "all()", Ingress: in}},
		{ObjectMeta: api.ObjectMeta{Name: "early.b"}, Spec: api.GlobalNetworkPolicySpec{Tier: "early", Order: ptr(1.0), Selector: "all()", Ingress: in}},
		{ObjectMeta: api.ObjectMeta{Name: "early.a"}, Spec: api.GlobalNetworkPolicySpec{Tier: "early", Selector: "all()", Ingress: in}},
		{ObjectMeta: api.ObjectMeta{Name: "early.c"}, Spec: api.GlobalNetworkPolicySpec{Tier: "early", Order: ptr(1.0), Selector: "all()", Ingress: in}},
		gnp("default.z", ptr(2.0), "app == 'a'", in, []api.Rule{{Action: api.ActionDeny}}),
	} {
		m.SetGlobalNetworkPolicy(p)
	}
	m.SetNetworkPolicy(np("default", "default.y", ptr(2.0), "all()", in, nil))
	p, _ := m.Flush()
	ep := p.Endpoints[iface("a")]
	name := func(id ChainID) string { return p.Chains[id].Name }
	var got []string
	for _, tr := range ep.Ingress.Tiers {
		s := tr.Name + ":"
		for _, id := range tr.Policies {
			s += " " + name(id)
		}
		if tr.EndOfTierPass {
			s += " (pass)"
		}
		got = append(got, s)
	}
	for _, id := range ep.Ingress.Profiles {
		got = append(got, "profile "+name(id))
	}
	want := []string{
		"early: early.b early.c early.a", // order 1 by name, then unset order
		"default: default.z default.y",   // "default.z" < "default/default.y": felix compares "<ns>/<name>"
		"late: late.x (pass)",            // no order: after ordered tiers
		"aaa: aaa.x",                     // tier without a resource: last
		"profile p1", "profile " + DefaultAllowProfile,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ingress:\n got %q\nwant %q", got, want)
	}
	if len(ep.Egress.Tiers) != 1 || len(ep.Egress.Tiers[0].Policies) != 1 || name(ep.Egress.Tiers[0].Policies[0]) != "default.z" {
		t.Errorf("egress tiers: %+v", ep.Egress.Tiers)
	}
	if !reflect.DeepEqual(ep.Addrs, []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}) {
		t.Errorf("addrs %v", ep.Addrs)
	}
	for id, ch := range p.Chains {
		if len(id) > 16 || strings.Trim(string(id), "abcdefghijklmnopqrstuvwxyz234567-") != "" {
			t.Errorf("chain ID %q is not short [a-z2-7-]", id)
		}
		if ch.ID != id {
			t.Errorf("chain %s has ID %s", id, ch.ID)
		}
	}
}

func TestIPv6(t *testing.T) {
	m := New(Options{Node: testNode, IPv6: true})
	a := wep("", "default", "a", "10.0.0.1", map[string]string{"app": "a"})
	a.Spec.IPNetworks = append(a.Spec.IPNetworks, "fd00::1/128")
	m.SetWorkloadEndpoint(a)
	r := wep("node-b", "default", "r", "10.0.1.1", map[string]string{"app": "r"})
	r.Spec.IPNetworks = append(r.Spec.IPNetworks, "fd00::2/128")
	m.SetWorkloadEndpoint(r)
	m.SetGlobalNetworkPolicy(gnp("default.in", nil, "app == 'a'", []api.Rule{
		allow(fromSel("app == 'r'"), api.EntityRule{}),
		{Action: api.ActionAllow, Protocol: protoN(58), ICMP: &api.ICMPFields{Type: ptr(128)}},
	}, nil))
	p, _ := m.Flush()
	checkConsistent(t, p)
	six := func(src, dst string, proto uint8, typ uint8) packet {
		return packet{src: addr(src), dst: addr(dst), proto: proto, dport: 80, icmpType: typ}
	}
	for _, c := range []struct {
		pk   packet
		want string
	}{
		{six("fd00::2", "fd00::1", 6, 0), "allow"},
		{six("fd00::3", "fd00::1", 6, 0), "deny"},
		{six("fd00::3", "fd00::1", 58, 128), "allow"},
		{six("fd00::3", "fd00::1", 58, 129), "deny"},
		{tcpTo("10.0.1.1", "10.0.0.1", 80), "allow"},
		{ping("10.0.0.9", "10.0.0.1", 128, 0), "deny"}, // ICMPv6 rule has no IPv4 form
	} {
		if got := verdict(p, iface("a"), false, c.pk); got != c.want {
			t.Errorf("%+v: %s, want %s", c.pk, got, c.want)
		}
	}
	fams := map[uint8]int{}
	for _, s := range p.Sets {
		fams[s.Family]++
		for _, n := range s.Nets {
			if n.Addr().Is4() != (s.Family == 4) {
				t.Errorf("set %s family %d holds %s", s.ID, s.Family, n)
			}
		}
	}
	if fams[4] != 1 || fams[6] != 1 {
		t.Errorf("want one set per family, got %v", fams)
	}
}

func TestPolicyServiceAccountSelector(t *testing.T) {
	m := New(Options{Node: testNode})
	a := wep("", "default", "a", "10.0.0.1", nil, "ksa.default.api")
	a.Spec.ServiceAccountName = "api"
	m.SetWorkloadEndpoint(a)
	m.SetWorkloadEndpoint(wep("", "default", "b", "10.0.0.2", nil, DefaultAllowProfile))
	m.SetProfile(profile("ksa.default.api", map[string]string{"pcsa.role": "api"}, nil, nil))
	n := np("default", "default.sa", nil, "", nil, nil)
	n.Spec.ServiceAccountSelector = "role == 'api'"
	n.Spec.Types = []string{"Ingress"}
	m.SetNetworkPolicy(n)
	p, _ := m.Flush()
	if got := len(p.Endpoints[iface("a")].Ingress.Tiers); got != 1 {
		t.Errorf("endpoint with the service account: %d tiers, want 1", got)
	}
	if got := len(p.Endpoints[iface("b")].Ingress.Tiers); got != 0 {
		t.Errorf("endpoint without: %d tiers, want 0", got)
	}
	// Its own pcsa. label is ignored: only profiles may carry them.
	b := wep("", "default", "b", "10.0.0.2", map[string]string{"pcsa.role": "api"}, DefaultAllowProfile)
	m.SetWorkloadEndpoint(b)
	if p, _ = m.Flush(); len(p.Endpoints[iface("b")].Ingress.Tiers) != 0 {
		t.Error("an endpoint's own pcsa. label selected it")
	}
}

func TestWarningsOncePerPolicy(t *testing.T) {
	m := New(Options{Node: testNode})
	g := gnp("default.l7", nil, "all()", []api.Rule{{Action: api.ActionAllow, HTTP: &api.HTTPMatch{Methods: []string{"GET"}}}}, nil)
	m.SetGlobalNetworkPolicy(g)
	_, d := m.Flush()
	if len(d.Warnings) != 1 || d.Warnings[0].Kind != "GlobalNetworkPolicy" || d.Warnings[0].Name != "default.l7" {
		t.Fatalf("warnings %v", d.Warnings)
	}
	m.SetGlobalNetworkPolicy(gnp("default.l7", nil, "all()", g.Spec.Ingress, nil))
	if _, d = m.Flush(); len(d.Warnings) != 0 {
		t.Errorf("same policy again warned again: %v", d.Warnings)
	}
	m.SetGlobalNetworkPolicy(gnp("default.l7", nil, "all()", append(g.Spec.Ingress, g.Spec.Ingress...), nil))
	if _, d = m.Flush(); len(d.Warnings) != 2 {
		t.Errorf("edited policy: %v", d.Warnings)
	}
}

func TestConfigFrom(t *testing.T) {
	if c := ConfigFrom(nil, nil); c != (Config{EndpointToHost: "Drop", LogPrefix: "calico-packet", DropInvalid: true, VXLANPort: 4789}) {
		t.Errorf("defaults: %+v", c)
	}
	g := &api.FelixConfiguration{Spec: api.FelixConfigurationSpec{DefaultEndpointToHostAction: "Accept", LogPrefix: "g"}}
	n := &api.FelixConfiguration{Spec: api.FelixConfigurationSpec{LogPrefix: "node %t/%n", DisableConntrackInvalidCheck: ptr(true)}}
	c := ConfigFrom(g, n)
	if c.EndpointToHost != "Accept" || c.LogPrefix != "node %t/%n" || c.DropInvalid {
		t.Errorf("merged: %+v", c)
	}
	m := New(Options{Node: testNode})
	m.SetWorkloadEndpoint(wep("", "default", "a", "10.0.0.1", nil))
	m.SetGlobalNetworkPolicy(&api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "sec.log"},
		Spec: api.GlobalNetworkPolicySpec{Tier: "sec", Selector: "all()", Ingress: []api.Rule{{Action: api.ActionLog}}}})
	m.Flush()
	m.SetConfig(c)
	p, d := m.Flush()
	if !d.ConfigChanged || len(d.ChainsChanged) != 1 {
		t.Fatalf("config change: %+v", d)
	}
	if got := p.Chains[d.ChainsChanged[0]].Rules[0].LogPrefix; got != "node sec/log" {
		t.Errorf("log prefix %q", got)
	}
}
