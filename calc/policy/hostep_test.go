package policy

import (
	"testing"

	"github.com/brindle-net/brindle/api"
)

func hep(node, name, ifc string, ips []string, labels map[string]string, profiles ...string) *api.HostEndpoint {
	h := &api.HostEndpoint{}
	h.Name, h.Labels = name, labels
	h.Spec = api.HostEndpointSpec{Node: node, InterfaceName: ifc, ExpectedIPs: ips, Profiles: profiles}
	return h
}

// hostVerdict runs a packet through one hook of a host endpoint as HostEndpoint's doc says.
func hostVerdict(p *Program, ifc, hook string, pk packet) string {
	h := p.HostEndpoints[ifc]
	if h == nil {
		return "no endpoint"
	}
	switch hook {
	case "in":
		return dirVerdict(p, &h.Ingress, pk, true)
	case "out":
		return dirVerdict(p, &h.Egress, pk, true)
	case "fwd-in":
		return dirVerdict(p, &h.ForwardIngress, pk, false)
	case "fwd-out":
		return dirVerdict(p, &h.ForwardEgress, pk, false)
	case "prednat":
		return dirVerdict(p, &h.PreDNAT, pk, false)
	case "raw-in":
		return dirVerdict(p, &h.UntrackedIngress, pk, false)
	case "raw-out":
		return dirVerdict(p, &h.UntrackedEgress, pk, false)
	}
	panic(hook)
}

func TestHostEndpoints(t *testing.T) {
	m := New(Options{Node: testNode})
	baseWorld(m)
	lbl := map[string]string{"role": "host"}
	m.SetHostEndpoint(hep(testNode, "n1-eth0", "eth0", []string{"192.168.0.1"}, lbl))
	m.SetHostEndpoint(hep(testNode, "n1-all", "*", []string{"192.168.0.1"}, lbl))
	m.SetHostEndpoint(hep("node-b", "nb-eth0", "eth0", []string{"192.168.0.2"}, lbl))
	p, d := m.Flush()
	if len(p.HostEndpoints) != 2 || len(d.HostEndpointsChanged) != 2 {
		t.Fatalf("host endpoints %v, delta %v", p.HostEndpoints, d.HostEndpointsChanged)
	}
	in := tcpTo("192.168.0.2", "192.168.0.1", 80)
	// No policy, no profile: everything but failsafe is dropped; forward, pre-DNAT, raw: no verdict.
	for hook, want := range map[string]string{"in": "deny", "out": "deny", "fwd-in": "none", "prednat": "none", "raw-in": "none"} {
		if v := hostVerdict(p, "eth0", hook, in); v != want {
			t.Errorf("empty host endpoint, %s: %s, want %s", hook, v, want)
		}
	}
	if ci, co := p.Config.Failsafes(); len(ci) != 9 || len(co) != 9 || ci[0] != (Failsafe{Proto: 6, Port: 22}) || co[0] != (Failsafe{Proto: 17, Port: 53}) {
		t.Errorf("failsafe defaults: %v %v", ci, co)
	}

	allowUDP := []api.Rule{{Action: api.ActionAllow, Protocol: udp()}}
	untracked := gnp("raw", ptr(1.0), "role == 'host'", allowUDP, allowUDP)
	untracked.Spec.DoNotTrack, untracked.Spec.ApplyOnForward = true, true
	pre := gnp("pre", ptr(1.0), "role == 'host'", []api.Rule{{Action: api.ActionDeny, Source: api.EntityRule{Nets: []string{"10.9.0.0/16"}}}}, nil)
	pre.Spec.PreDNAT, pre.Spec.ApplyOnForward = true, true
	fwd := gnp("fwd", ptr(2.0), "role == 'host'", nil, []api.Rule{{Action: api.ActionDeny, Protocol: tcp(), Destination: api.EntityRule{Ports: ports("443")}}})
	fwd.Spec.ApplyOnForward = true
	norm := gnp("norm", ptr(3.0), "role == 'host'", []api.Rule{{Action: api.ActionAllow, Protocol: tcp(), Destination: api.EntityRule{Ports: ports("80")}}}, nil)
	for _, g := range []*api.GlobalNetworkPolicy{untracked, pre, fwd, norm} {
		m.SetGlobalNetworkPolicy(g)
	}
	m.SetHostEndpoint(hep(testNode, "n1-eth0", "eth0", []string{"192.168.0.1"}, lbl, DefaultAllowProfile))
	p, _ = m.Flush()
	for _, c := range []struct {
		ifc, hook string
		pk        packet
		want      string
	}{
		{"eth0", "raw-in", udpTo("192.168.0.2", "192.168.0.1", 5000), "allow"},
		{"eth0", "raw-out", udpTo("192.168.0.1", "192.168.0.2", 5000), "allow"},
		{"eth0", "raw-in", in, "none"},
		{"eth0", "prednat", tcpTo("10.9.1.1", "192.168.0.1", 80), "deny"},
		{"eth0", "prednat", in, "none"},
		{"eth0", "in", in, "allow"},
		{"eth0", "in", tcpTo("192.168.0.2", "192.168.0.1", 81), "deny"}, // tier default: drop
		// fwd is egress only with applyOnForward: forwarded 443 out of eth0 is denied,
		// forwarded traffic in is unpoliced, egress from the host itself is denied at
		// end of tier (fwd selects it, nothing allows).
		{"eth0", "fwd-out", tcpTo("10.0.0.1", "1.1.1.1", 443), "deny"},
		{"eth0", "fwd-out", tcpTo("10.0.0.1", "1.1.1.1", 80), "deny"},
		{"eth0", "fwd-in", in, "none"},
		{"eth0", "out", tcpTo("192.168.0.1", "1.1.1.1", 80), "deny"},
		// "*": no forward policy ever; no profile, so whatever the tiers leave is dropped.
		{"*", "fwd-out", tcpTo("10.0.0.1", "1.1.1.1", 443), "none"},
		{"*", "in", in, "allow"},
	} {
		if v := hostVerdict(p, c.ifc, c.hook, c.pk); v != c.want {
			t.Errorf("%s %s %v: %s, want %s", c.ifc, c.hook, c.pk, v, c.want)
		}
	}
	h := p.HostEndpoints["eth0"]
	if len(h.PreDNAT.Tiers) != 1 || !h.PreDNAT.Tiers[0].EndOfTierPass || len(h.Egress.Profiles) != 1 || len(h.PreDNAT.Profiles) != 0 {
		t.Errorf("eth0: %+v", h)
	}
	// Named host endpoint ports: a rule naming "alt" matches the host endpoint's own port.
	named := hep(testNode, "n1-eth1", "eth1", []string{"192.168.1.1"}, map[string]string{"role": "named"})
	named.Spec.Ports = []api.EndpointPort{{Name: "alt", Protocol: api.ProtocolFromName("TCP"), Port: 2222}}
	m.SetHostEndpoint(named)
	m.SetGlobalNetworkPolicy(gnp("named", ptr(1.0), "role == 'named'", []api.Rule{{Action: api.ActionAllow, Protocol: tcp(),
		Destination: api.EntityRule{Ports: ports("alt")}}}, nil))
	p, _ = m.Flush()
	if v := hostVerdict(p, "eth1", "in", tcpTo("192.168.0.2", "192.168.1.1", 2222)); v != "allow" {
		t.Errorf("named host port 2222: %s", v)
	}
	if v := hostVerdict(p, "eth1", "in", tcpTo("192.168.0.2", "192.168.1.1", 2223)); v != "deny" {
		t.Errorf("unnamed port 2223: %s", v)
	}
	m.DeleteHostEndpoint("n1-eth1")
	// Host-only policies never reach workloads.
	if v := verdict(p, iface("a"), false, udpTo("10.0.0.2", "10.0.0.1", 5000)); v != "deny" {
		t.Errorf("workload a: %s", v)
	}
	// FelixConfiguration failsafe lists replace the defaults; [] empties them.
	fc := &api.FelixConfiguration{}
	fc.Spec.FailsafeInboundHostPorts = &[]api.ProtoPort{{Protocol: "tcp", Port: 22, Net: "10.0.0.0/8"}}
	fc.Spec.FailsafeOutboundHostPorts = &[]api.ProtoPort{}
	m.SetConfig(ConfigFrom(fc, nil))
	p, d = m.Flush()
	ci, co := p.Config.Failsafes()
	if !d.ConfigChanged || p.Config.FailsafeIn != "tcp:10.0.0.0/8:22" || len(ci) != 1 || ci[0].Net.String() != "10.0.0.0/8" || len(co) != 0 {
		t.Errorf("failsafe config: %q %v %v", p.Config.FailsafeIn, ci, co)
	}
	// Deleting the host endpoints releases their chains.
	m.DeleteHostEndpoint("n1-eth0")
	m.DeleteHostEndpoint("n1-all")
	p, d = m.Flush()
	if len(p.HostEndpoints) != 0 || len(d.HostEndpointsRemoved) != 2 {
		t.Errorf("after delete: %v %v", p.HostEndpoints, d.HostEndpointsRemoved)
	}
	for id, ch := range p.Chains {
		if ch.Tier != "" && ch.Name != "" && (ch.Name == "raw" || ch.Name == "pre" || ch.Name == "fwd" || ch.Name == "norm") {
			t.Errorf("chain %s of %s still active", id, ch.Name)
		}
	}
}
