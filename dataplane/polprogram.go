package dataplane

import (
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc/policy"
)

// SpecFromProgram adapts calc/policy's Program to the reconciler's PolicySpec: IPv4 only
// (the table is `ip brindle`; IPv6 rules and sets are left out, so IPv6 from workloads is
// not filtered here), model set IDs prefixed "s." so they never meet the table's fixed
// names, chain IDs as they are ("pi-", "po-", "ri-", "ro-").
func SpecFromProgram(p *policy.Program) PolicySpec {
	spec := specConfig(p.Config)
	spec.Sets, spec.Chains, spec.Endpoints = map[string]PolSet{}, map[string]PolChain{}, map[string]PolEndpoint{}
	for id, s := range p.Sets {
		if s.Family == 6 {
			continue
		}
		spec.Sets[setName(id)] = polSetFrom(s)
	}
	for id, ch := range p.Chains {
		spec.Chains[string(id)] = PolChain{Rules: polRulesFrom(ch.Rules)}
	}
	for iface, ep := range p.Endpoints {
		spec.Endpoints[iface] = polEndpointFrom(ep)
	}
	if len(p.HostEndpoints) > 0 {
		spec.HostEndpoints = map[string]PolHostEndpoint{}
		for iface, h := range p.HostEndpoints {
			spec.HostEndpoints[iface] = polHostFrom(h)
		}
	}
	return spec
}

func polHostFrom(h *policy.HostEndpoint) PolHostEndpoint {
	return PolHostEndpoint{Ingress: polDirFrom(h.Ingress), Egress: polDirFrom(h.Egress),
		FwdIn: polDirFrom(h.ForwardIngress), FwdOut: polDirFrom(h.ForwardEgress), PreDNAT: polDirFrom(h.PreDNAT),
		RawIn: polDirFrom(h.UntrackedIngress), RawOut: polDirFrom(h.UntrackedEgress)}
}

func polFailsafes(fs []policy.Failsafe) []PolFailsafe {
	var out []PolFailsafe
	for _, f := range fs {
		if f.Net.IsValid() && !f.Net.Addr().Is4() {
			continue
		}
		out = append(out, PolFailsafe{Proto: f.Proto, Port: f.Port, Net: f.Net})
	}
	return out
}

func specConfig(c policy.Config) PolicySpec {
	in, out := c.Failsafes()
	return PolicySpec{ToHost: c.EndpointToHost, DropInvalid: c.DropInvalid,
		AllowIPIP: c.AllowIPIPFromWorkloads, AllowVXLAN: c.AllowVXLANFromWorkloads, VXLANPort: c.VXLANPort,
		FailsafeIn: polFailsafes(in), FailsafeOut: polFailsafes(out), HostIPIP: c.HostIPIP, HostVXLAN: c.HostVXLAN}
}

// EndpointChains names the chains an endpoint's packets go through, for display with their
// counters: its own chain (anti-spoofing, from the workload) and the group chains that hold
// its ingress and egress procedure (shared by endpoints with the same policies).
func EndpointChains(iface string, ep *policy.Endpoint, c policy.Config) (own, ingress, egress string) {
	pe, spec := polEndpointFrom(ep), specConfig(c)
	o := spec.epOpts()
	ingress, _ = groupName(pe.Ingress, false, o)
	egress, _ = groupName(pe.Egress, true, o)
	return fwChain(iface), ingress, egress
}

func setName(id policy.SetID) string { return "s." + string(id) }

func setNames(ids []policy.SetID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, setName(id))
	}
	return out
}

func polSetFrom(s *policy.Set) PolSet {
	if s.Kind == policy.SetAddrPorts {
		ps := make([]NamedPort, 0, len(s.Members))
		for _, m := range s.Members {
			ps = append(ps, NamedPort{Addr: m.Addr, Proto: m.Proto, Port: m.Port})
		}
		return PolSet{Kind: SetNamedPorts, Ports: ps}
	}
	return PolSet{Kind: SetNets, Nets: slices.Clone(s.Nets)} // the Model reuses its slices
}

func polRulesFrom(rs []policy.Rule) []PolRule { return polRulesFor(rs, 4) }

// polRulesFor keeps the rules of one family (the Model splits a rule that can match both).
func polRulesFor(rs []policy.Rule, fam uint8) []PolRule {
	out := make([]PolRule, 0, len(rs))
	for _, r := range rs {
		if (r.IPVersion == 6) != (fam == 6) {
			continue
		}
		pr := PolRule{Index: r.Index, Action: r.Action.String(), Src: polMatchFrom(r.Src, fam), Dst: polMatchFrom(r.Dst, fam),
			ICMPType: -1, ICMPCode: -1, NotICMPType: -1, NotICMPCode: -1, LogPrefix: r.LogPrefix}
		if r.Protocol != nil {
			pr.Proto = *r.Protocol
		}
		if r.NotProtocol != nil {
			pr.NotProto = *r.NotProtocol
		}
		if r.ICMP != nil {
			pr.ICMPType = int(r.ICMP.Type)
			if r.ICMP.Code != nil {
				pr.ICMPCode = int(*r.ICMP.Code)
			}
		}
		if r.NotICMP != nil {
			pr.NotICMPType = int(r.NotICMP.Type)
			if r.NotICMP.Code != nil {
				pr.NotICMPCode = int(*r.NotICMP.Code)
			}
		}
		out = append(out, pr)
	}
	return out
}

func polMatchFrom(m policy.Match, fam uint8) PolMatch {
	v4 := v4
	if fam == 6 {
		v4 = v6only
	}
	ports := func(rs []policy.PortRange) []PortRange {
		var out []PortRange
		for _, r := range rs {
			out = append(out, PortRange{First: r.Min, Last: r.Max})
		}
		return out
	}
	return PolMatch{Sets: setNames(m.Sets), NotSets: setNames(m.NotSets), Nets: v4(m.Nets), NotNets: v4(m.NotNets),
		Ports: ports(m.Ports), NotPorts: ports(m.NotPorts),
		PortSets: setNames(m.NamedPortSets), NotPortSets: setNames(m.NotNamedPortSets)}
}

func polDirFrom(d policy.Direction) PolDirection {
	var out PolDirection
	for _, t := range d.Tiers {
		pt := PolTier{Name: t.Name, PassByDefault: t.EndOfTierPass}
		for _, c := range t.Policies {
			pt.Policies = append(pt.Policies, string(c))
		}
		out.Tiers = append(out.Tiers, pt)
	}
	for _, c := range d.Profiles {
		out.Profiles = append(out.Profiles, string(c))
	}
	return out
}

func polEndpointFrom(ep *policy.Endpoint) PolEndpoint {
	return PolEndpoint{Sources: append(v4(ep.Addrs), v4(ep.AllowSpoofed)...), Ingress: polDirFrom(ep.Ingress), Egress: polDirFrom(ep.Egress)}
}

func v4(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is4() {
			out = append(out, p)
		}
	}
	return out
}
