package api

import (
	"net/netip"
	"strings"
)

// Rule validation follows Calico's validator (libcalico-go/lib/validator/v3/validator.go:
// validateRule, validateEntityRule, validateICMPFields, validatePort, validateHTTPRule,
// validateRuleMetadata and the validate tags of api/.../v3/policy_common.go). Every error
// names the JSON path of the field, e.g. "spec.ingress[0].destination.ports".

// ruleDir says which list a rule is in: Calico allows services only as the egress
// destination or the ingress source, and HTTP matches only on ingress (policies only;
// profiles are not checked for direction, as in Calico).
type ruleDir int

const (
	dirAny ruleDir = iota
	dirIngress
	dirEgress
)

// checkRules validates a list of rules under path (e.g. "spec.ingress").
func checkRules(e *Errs, path string, rules []Rule, dir ruleDir) {
	for i := range rules {
		checkRule(e, path+"["+itoa(i)+"]", &rules[i], dir)
	}
}

func checkRule(e *Errs, p string, r *Rule, dir ruleDir) {
	CheckOneOf(e, p+".action", r.Action, false, ActionAllow, ActionDeny, ActionLog, ActionPass)
	if r.IPVersion != nil && *r.IPVersion != 4 && *r.IPVersion != 6 {
		e.Add(p+".ipVersion", *r.IPVersion, "must be 4 or 6")
	}
	checkProtocol(e, p+".protocol", r.Protocol, r.IPVersion)
	checkProtocol(e, p+".notProtocol", r.NotProtocol, r.IPVersion)
	checkICMP(e, p+".icmp", r.ICMP, r.Protocol)
	checkICMP(e, p+".notICMP", r.NotICMP, r.Protocol)
	checkEntity(e, p+".source", &r.Source, r)
	checkEntity(e, p+".destination", &r.Destination, r)
	checkRuleNets(e, p, r)
	if r.Source.Services != nil && dir == dirEgress {
		e.Add(p+".source.services", nil, "is not allowed in an egress rule: services match the destination of egress rules")
	}
	if r.Destination.Services != nil && dir == dirIngress {
		e.Add(p+".destination.services", nil, "is not allowed in an ingress rule: services match the source of ingress rules")
	}
	if r.Destination.Services != nil && len(r.Destination.Ports) > 0 {
		e.Add(p+".destination.ports", nil, "cannot be combined with destination.services: the service's endpoints give the ports")
	}
	if r.Destination.Services != nil && len(r.Destination.NotPorts) > 0 {
		e.Add(p+".destination.notPorts", nil, "cannot be combined with destination.services")
	}
	if h := r.HTTP; h != nil {
		checkHTTP(e, p, r, dir)
	}
	if m := r.Metadata; m != nil {
		checkAnnotations(e, p+".metadata.annotations", m.Annotations)
	}
}

func checkHTTP(e *Errs, p string, r *Rule, dir ruleDir) {
	h := r.HTTP
	if dir == dirEgress {
		e.Add(p+".http", nil, "is not allowed in an egress rule")
	}
	if r.Action != ActionAllow {
		e.Add(p+".http", nil, "HTTP match is only valid on Allow rules")
	}
	if n, ok := protoNum(r.Protocol); ok && n != 6 {
		e.Add(p+".protocol", r.Protocol.String(), "rules with an HTTP match must have protocol TCP or none")
	}
	seen := map[string]bool{}
	for j, m := range h.Methods {
		if seen[m] {
			e.Add(p+".http.methods["+itoa(j)+"]", m, "is listed twice")
		}
		seen[m] = true
	}
	for j, hp := range h.Paths {
		path := p + ".http.paths[" + itoa(j) + "]"
		if (hp.Exact == "") == (hp.Prefix == "") {
			e.Add(path, nil, "must set exactly one of exact or prefix")
			continue
		}
		v := hp.Exact + hp.Prefix
		if !strings.HasPrefix(v, "/") || strings.ContainsAny(v, "? #") {
			e.Add(path, v, "must start with '/' and contain no '?', '#' or space")
		}
	}
}

func protoNum(p *Protocol) (uint8, bool) {
	if p == nil {
		return 0, false
	}
	return p.Number()
}

func checkProtocol(e *Errs, path string, p *Protocol, ipVersion *int) {
	if p == nil {
		return
	}
	if p.IsName {
		if _, ok := protocolNumbers[p.Name]; !ok {
			e.Add(path, p.Name, "must be one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255")
			return
		}
	} else if p.Num == 0 {
		e.Add(path, 0, "protocol number must be 1-255")
		return
	}
	n, _ := p.Number()
	if ipVersion != nil && (n == 1 && *ipVersion == 6 || n == 58 && *ipVersion == 4) {
		e.Add(path, p.String(), "does not match ipVersion %d", *ipVersion)
	}
}

// checkICMP: Calico requires protocol ICMP/ICMPv6 for icmp; brindle also requires it for
// notICMP, since a negated ICMP type cannot be matched on a packet of another protocol.
func checkICMP(e *Errs, path string, f *ICMPFields, proto *Protocol) {
	if f == nil {
		return
	}
	if n, ok := protoNum(proto); !ok || n != 1 && n != 58 {
		e.Add(path, nil, "requires protocol ICMP or ICMPv6")
	}
	if f.Type != nil && (*f.Type < 0 || *f.Type > 254) {
		e.Add(path+".type", *f.Type, "must be 0-254")
	}
	if f.Code != nil {
		if *f.Code < 0 || *f.Code > 255 {
			e.Add(path+".code", *f.Code, "must be 0-255")
		}
		if f.Type == nil {
			e.Add(path+".code", *f.Code, "requires type to be set: the kernel matches a code only with its type")
		}
	}
}

// checkRuleNets: every net is a CIDR, all nets of a rule are of one family that matches
// ipVersion, and a negated net is never a catch-all (it would match nothing).
func checkRuleNets(e *Errs, p string, r *Rule) {
	var v4, v6 bool
	for _, f := range []struct {
		path string
		nets []string
		neg  bool
	}{{".source.nets", r.Source.Nets, false}, {".source.notNets", r.Source.NotNets, true},
		{".destination.nets", r.Destination.Nets, false}, {".destination.notNets", r.Destination.NotNets, true}} {
		for i, n := range f.nets {
			fp := p + f.path + "[" + itoa(i) + "]"
			pr, err := netip.ParsePrefix(n)
			if err != nil {
				e.Add(fp, n, "must be a network in CIDR form, e.g. 10.0.0.0/24 or 10.0.0.5/32")
				continue
			}
			if r.IPVersion != nil && pr.Addr().Is4() != (*r.IPVersion == 4) {
				e.Add(fp, n, "address family does not match ipVersion %d", *r.IPVersion)
			}
			if pr.Addr().Is4() && v6 || pr.Addr().Is6() && v4 {
				e.Add(fp, n, "a rule cannot mix IPv4 and IPv6 networks")
			}
			v4, v6 = v4 || pr.Addr().Is4(), v6 || pr.Addr().Is6()
			if f.neg && pr.Bits() == 0 {
				e.Add(fp, n, "a catch-all network in a negated match matches no traffic")
			}
		}
	}
}

func checkEntity(e *Errs, p string, er *EntityRule, r *Rule) {
	CheckSelector(e, p+".selector", er.Selector)
	CheckSelector(e, p+".notSelector", er.NotSelector)
	CheckSelector(e, p+".namespaceSelector", er.NamespaceSelector)
	if strings.Contains(er.Selector, "global()") {
		e.Add(p+".selector", er.Selector, "global() is only valid in a namespaceSelector")
	}
	if ns := er.NamespaceSelector; strings.Contains(ns, "global(") && strings.TrimSpace(ns) != "global()" {
		e.Add(p+".namespaceSelector", ns, "global() cannot be combined with other expressions")
	}
	checkPorts := func(field string, ports []Port) {
		if len(ports) == 0 {
			return
		}
		if n, ok := protoNum(r.Protocol); !ok || n != 6 && n != 17 && n != 132 {
			e.Add(p+"."+field, nil, "ports require protocol TCP, UDP or SCTP")
		}
		for i, port := range ports {
			pp := p + "." + field + "[" + itoa(i) + "]"
			if port.PortName != "" {
				CheckPortName(e, pp, port.PortName)
			} else if port.MinPort == 0 {
				e.Add(pp, port.String(), "port numbers must be 1-65535")
			}
		}
	}
	checkPorts("ports", er.Ports)
	checkPorts("notPorts", er.NotPorts)
	if sa := er.ServiceAccounts; sa != nil {
		CheckSelector(e, p+".serviceAccounts.selector", sa.Selector)
	}
	if sv := er.Services; sv != nil {
		if sv.Name == "" {
			e.Add(p+".services.name", nil, "is required")
		} else {
			CheckName(e, p+".services.name", sv.Name)
		}
		if sv.Namespace != "" {
			CheckName(e, p+".services.namespace", sv.Namespace)
		}
		for _, c := range []struct {
			field string
			set   bool
		}{{"namespaceSelector", er.NamespaceSelector != ""}, {"selector", er.Selector != ""}, {"notSelector", er.NotSelector != ""},
			{"serviceAccounts", er.ServiceAccounts != nil}, {"nets", len(er.Nets) > 0}, {"notNets", len(er.NotNets) > 0}} {
			if c.set {
				e.Add(p+".services", nil, "cannot be combined with %s in the same rule", c.field)
			}
		}
	}
}

// checkAnnotations follows Kubernetes' rules as Calico applies them (validateObjectMetaAnnotations):
// qualified-name keys, at most 256 KiB in total.
func checkAnnotations(e *Errs, path string, ann map[string]string) {
	total := 0
	for _, k := range Labels(ann).SortedKeys() {
		if len(k) > 316 || !labelKey.MatchString(strings.ToLower(k)) {
			e.Add(path+"["+k+"]", k, "key must be an optional DNS prefix and '/', then letters, digits, '-', '_' or '.'")
		}
		total += len(k) + len(ann[k])
	}
	if total > 256*1024 {
		e.Add(path, nil, "total size %d bytes is over the 262144-byte limit", total)
	}
}
