package policy

import (
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/api"
)

const testNode = "node-a"

func ptr[T any](v T) *T { return &v }

func tcp() *api.Protocol  { p := api.ProtocolFromName("TCP"); return &p }
func udp() *api.Protocol  { p := api.ProtocolFromName("UDP"); return &p }
func icmp() *api.Protocol { p := api.ProtocolFromName("ICMP"); return &p }
func protoN(n uint8) *api.Protocol {
	p := api.ProtocolFromNum(n)
	return &p
}

func ports(ss ...string) []api.Port {
	var out []api.Port
	for _, s := range ss {
		p, err := api.ParsePort(s)
		if err != nil {
			panic(err)
		}
		out = append(out, p)
	}
	return out
}

func gnp(name string, order *float64, sel string, in, out []api.Rule) *api.GlobalNetworkPolicy {
	g := &api.GlobalNetworkPolicy{}
	g.Name = name
	g.Spec = api.GlobalNetworkPolicySpec{Order: order, Selector: sel, Ingress: in, Egress: out}
	return g
}

func np(ns, name string, order *float64, sel string, in, out []api.Rule) *api.NetworkPolicy {
	n := &api.NetworkPolicy{}
	n.Name, n.Namespace = name, ns
	n.Spec = api.NetworkPolicySpec{Order: order, Selector: sel, Ingress: in, Egress: out}
	return n
}

func tier(name string, order *float64, action string) *api.Tier {
	t := &api.Tier{}
	t.Name = name
	t.Spec = api.TierSpec{Order: order, DefaultAction: action}
	return t
}

func profile(name string, labels map[string]string, in, out []api.Rule) *api.Profile {
	p := &api.Profile{}
	p.Name = name
	p.Spec = api.ProfileSpec{Ingress: in, Egress: out, LabelsToApply: labels}
	return p
}

// wep is a workload endpoint; node "" means this node. Its interface is derived from the name.
func wep(node, ns, name, ip string, labels map[string]string, profiles ...string) *api.WorkloadEndpoint {
	if node == "" {
		node = testNode
	}
	w := &api.WorkloadEndpoint{}
	w.Name, w.Namespace = name, ns
	w.Labels = labels
	w.Spec = api.WorkloadEndpointSpec{Node: node, InterfaceName: iface(name), IPNetworks: []string{ip + "/32"}, Profiles: profiles}
	if netip.MustParseAddr(ip).Is6() {
		w.Spec.IPNetworks = []string{ip + "/128"}
	}
	return w
}

func iface(name string) string { return fmt.Sprintf("cali%011s", name)[:15] }

func allow(src, dst api.EntityRule) api.Rule {
	return api.Rule{Action: api.ActionAllow, Source: src, Destination: dst}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func tcpTo(src, dst string, port uint16) packet {
	return packet{src: addr(src), dst: addr(dst), proto: 6, sport: 40000, dport: port}
}

func udpTo(src, dst string, port uint16) packet {
	return packet{src: addr(src), dst: addr(dst), proto: 17, sport: 40000, dport: port}
}

func ping(src, dst string, typ, code uint8) packet {
	return packet{src: addr(src), dst: addr(dst), proto: 1, icmpType: typ, icmpCode: code}
}
