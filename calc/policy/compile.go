package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/api/selector"
)

// setSpec is what a set stands for; its ID is derived from it.
type setSpec struct {
	kind     SetKind
	family   uint8
	sel      *selector.Selector // never nil: all() when the rule gives none
	portName string             // SetAddrPorts only
	proto    uint8              // SetAddrPorts only
}

func (sp *setSpec) source() string {
	if sp.kind == SetAddrPorts {
		return fmt.Sprintf("named port %q/%d of selector %s", sp.portName, sp.proto, sp.sel)
	}
	return "selector " + sp.sel.String()
}

// owner identifies whose rules are compiled, for log prefixes and warnings.
type owner struct {
	kind            string // "gnp", "np" or "pro" (felix/rules/policy.go policyNameToKindShortName)
	namespace, name string
	tier            string
}

// compiler turns API rules into Rules, collecting the sets they reference and the reasons for
// rules it skips.
type compiler struct {
	own       owner
	families  []uint8
	logPrefix string
	specs     map[SetID]*setSpec
	warnings  []string
}

var allSelector = selector.MustParse("all()")

func (c *compiler) rules(dir string, in []api.Rule) []Rule {
	var out []Rule
	for i := range in {
		out = c.rule(out, dir, i, &in[i])
	}
	return out
}

func (c *compiler) skip(dir string, i int, format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf("%s[%d] skipped: ", dir, i)+fmt.Sprintf(format, args...))
}

func (c *compiler) rule(out []Rule, dir string, i int, r *api.Rule) []Rule {
	// Application-layer matches need an L7 proxy that brindle does not have: the rule is not
	// enforced at all rather than enforced without its HTTP condition (which would allow more).
	if r.HTTP != nil {
		c.skip(dir, i, "http match (application layer policy) is not enforced by brindle")
		return out
	}
	if r.Source.Services != nil || r.Destination.Services != nil {
		c.skip(dir, i, "services match needs Kubernetes Services, which brindle does not watch")
		return out
	}
	act, ok := parseAction(r.Action)
	if !ok {
		c.skip(dir, i, "unknown action %q", r.Action)
		return out
	}
	proto, err := protoNum(r.Protocol)
	if err != nil {
		c.skip(dir, i, "protocol: %v", err)
		return out
	}
	notProto, err := protoNum(r.NotProtocol)
	if err != nil {
		c.skip(dir, i, "notProtocol: %v", err)
		return out
	}
	icmp, err := icmpMatch(r.ICMP, proto)
	if err != nil {
		c.skip(dir, i, "icmp: %v", err)
		return out
	}
	notICMP, err := icmpMatch(r.NotICMP, proto)
	if err != nil {
		c.skip(dir, i, "notICMP: %v", err)
		return out
	}
	src, err := c.side(&r.Source, proto)
	if err != nil {
		c.skip(dir, i, "source: %v", err)
		return out
	}
	dst, err := c.side(&r.Destination, proto)
	if err != nil {
		c.skip(dir, i, "destination: %v", err)
		return out
	}
	for _, fam := range c.families {
		if r.IPVersion != nil && *r.IPVersion != int(fam) {
			continue
		}
		// ICMP is IPv4-only and ICMPv6 IPv6-only: the rule cannot match the other family.
		if proto != nil && (*proto == 1 && fam == 6 || *proto == 58 && fam == 4) {
			continue
		}
		sm, ok1 := src.forFamily(c, fam)
		dm, ok2 := dst.forFamily(c, fam)
		if !ok1 || !ok2 {
			continue
		}
		rr := Rule{Action: act, IPVersion: fam, Protocol: proto, NotProtocol: notProto,
			Src: sm, Dst: dm, ICMP: icmp, NotICMP: notICMP, Index: i}
		if act == Log {
			rr.LogPrefix = c.logPrefix
		}
		out = append(out, rr)
	}
	return out
}

func parseAction(a string) (Action, bool) {
	switch strings.ToLower(a) {
	case "allow":
		return Allow, true
	case "deny":
		return Deny, true
	case "pass", "next-tier":
		return Pass, true
	case "log":
		return Log, true
	}
	return 0, false
}

var protoNames = map[string]uint8{"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132, "udplite": 136}

func protoNum(p *api.Protocol) (*uint8, error) {
	if p == nil {
		return nil, nil
	}
	if !p.IsName {
		if p.Num == 0 {
			return nil, fmt.Errorf("protocol number must be 1-255")
		}
		n := p.Num
		return &n, nil
	}
	n, ok := protoNames[strings.ToLower(p.Name)]
	if !ok {
		return nil, fmt.Errorf("unknown protocol %q", p.Name)
	}
	return &n, nil
}

func icmpMatch(f *api.ICMPFields, proto *uint8) (*ICMPMatch, error) {
	if f == nil || f.Type == nil && f.Code == nil {
		return nil, nil
	}
	if proto == nil || *proto != 1 && *proto != 58 {
		return nil, fmt.Errorf("requires protocol ICMP or ICMPv6")
	}
	if f.Type == nil || *f.Type < 0 || *f.Type > 254 {
		return nil, fmt.Errorf("type must be 0-254")
	}
	m := &ICMPMatch{Type: uint8(*f.Type)}
	if f.Code != nil {
		if *f.Code < 0 || *f.Code > 255 {
			return nil, fmt.Errorf("code must be 0-255")
		}
		c := uint8(*f.Code)
		m.Code = &c
	}
	return m, nil
}

// sideSpec is one side of a rule before it is split by family.
type sideSpec struct {
	nets, notNets   []netip.Prefix
	pos, neg        *selector.Selector
	ports, notPorts []PortRange
	named, notNamed []string
	namedProto      uint8
	useSel          bool // the positive selector set is matched (see forFamily)
}

func (c *compiler) side(er *api.EntityRule, proto *uint8) (*sideSpec, error) {
	s := &sideSpec{}
	var err error
	if s.nets, err = parseNets(er.Nets); err != nil {
		return nil, fmt.Errorf("nets: %v", err)
	}
	if s.notNets, err = parseNets(er.NotNets); err != nil {
		return nil, fmt.Errorf("notNets: %v", err)
	}
	if s.pos, s.neg, err = entitySelectors(er, c.own.namespace); err != nil {
		return nil, fmt.Errorf("selector: %v", err)
	}
	s.ports, s.named = splitPorts(er.Ports)
	s.notPorts, s.notNamed = splitPorts(er.NotPorts)
	if len(er.Ports)+len(er.NotPorts) > 0 {
		if proto == nil || *proto != 6 && *proto != 17 && *proto != 132 && *proto != 136 {
			return nil, fmt.Errorf("ports require protocol TCP, UDP, SCTP or UDPLite")
		}
	}
	// Named ports are looked up for the rule's protocol, TCP unless UDP or SCTP
	// (felix/calc/rule_scanner.go ruleToParsedRule).
	s.namedProto = 6
	if proto != nil && (*proto == 17 || *proto == 132) {
		s.namedProto = *proto
	}
	// With only named ports the named-port sets already carry the selector, so felix leaves the
	// selector set out; with numeric ports too, the selector set constrains the address.
	s.useSel = s.pos != nil && (len(s.ports) > 0 || len(s.named) == 0)
	return s, nil
}

// forFamily narrows the side to one family; false when the rule cannot match that family (its
// nets or notNets are all of the other family, or notNets holds the whole address space), as
// felix/rules/policy.go FilterRuleToIPVersion does.
func (s *sideSpec) forFamily(c *compiler, fam uint8) (Match, bool) {
	var m Match
	var ok bool
	if m.Nets, ok = filterNets(s.nets, fam, false); !ok {
		return m, false
	}
	if m.NotNets, ok = filterNets(s.notNets, fam, true); !ok {
		return m, false
	}
	m.Ports, m.NotPorts = s.ports, s.notPorts
	base := s.pos
	if base == nil {
		base = allSelector
	}
	if s.useSel {
		m.Sets = []SetID{c.set(&setSpec{kind: SetNets, family: fam, sel: s.pos})}
	}
	if s.neg != nil {
		m.NotSets = []SetID{c.set(&setSpec{kind: SetNets, family: fam, sel: s.neg})}
	}
	for _, n := range s.named {
		m.NamedPortSets = append(m.NamedPortSets, c.set(&setSpec{kind: SetAddrPorts, family: fam, sel: base, portName: n, proto: s.namedProto}))
	}
	for _, n := range s.notNamed {
		m.NotNamedPortSets = append(m.NotNamedPortSets, c.set(&setSpec{kind: SetAddrPorts, family: fam, sel: base, portName: n, proto: s.namedProto}))
	}
	return m, true
}

func (c *compiler) set(sp *setSpec) SetID {
	id := sp.id()
	if _, ok := c.specs[id]; !ok {
		c.specs[id] = sp
	}
	return id
}
