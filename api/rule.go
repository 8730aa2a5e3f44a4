package api

import "net/netip"

// Rule is one policy or profile rule (Calico's policy_common.go). Source and Destination are
// always written, even when empty: Calico stores "source":{},"destination":{}.
type Rule struct {
	Action      string        `json:"action"`
	IPVersion   *int          `json:"ipVersion,omitempty"`
	Protocol    *Protocol     `json:"protocol,omitempty"`
	ICMP        *ICMPFields   `json:"icmp,omitempty"`
	NotProtocol *Protocol     `json:"notProtocol,omitempty"`
	NotICMP     *ICMPFields   `json:"notICMP,omitempty"`
	Source      EntityRule    `json:"source"`
	Destination EntityRule    `json:"destination"`
	HTTP        *HTTPMatch    `json:"http,omitempty"`
	Metadata    *RuleMetadata `json:"metadata,omitempty"`
}

// EntityRule matches the source or destination of a packet.
type EntityRule struct {
	Nets              []string             `json:"nets,omitempty"`
	Selector          string               `json:"selector,omitempty"`
	NamespaceSelector string               `json:"namespaceSelector,omitempty"`
	Services          *ServiceMatch        `json:"services,omitempty"`
	Ports             []Port               `json:"ports,omitempty"`
	NotNets           []string             `json:"notNets,omitempty"`
	NotSelector       string               `json:"notSelector,omitempty"`
	NotPorts          []Port               `json:"notPorts,omitempty"`
	ServiceAccounts   *ServiceAccountMatch `json:"serviceAccounts,omitempty"`
}

// ICMPFields matches an ICMP type and optionally its code.
type ICMPFields struct {
	Type *int `json:"type,omitempty"`
	Code *int `json:"code,omitempty"`
}

// HTTPMatch matches HTTP methods and paths (application layer policy).
type HTTPMatch struct {
	Methods []string   `json:"methods,omitempty"`
	Paths   []HTTPPath `json:"paths,omitempty"`
}

// HTTPPath is an exact path or a prefix; exactly one is set.
type HTTPPath struct {
	Exact  string `json:"exact,omitempty"`
	Prefix string `json:"prefix,omitempty"`
}

// ServiceMatch names a Kubernetes service.
type ServiceMatch struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// ServiceAccountMatch matches endpoints by service account names and labels.
type ServiceAccountMatch struct {
	Names    []string `json:"names,omitempty"`
	Selector string   `json:"selector,omitempty"`
}

// RuleMetadata carries free-form annotations of a rule.
type RuleMetadata struct {
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Rule actions.
const (
	ActionAllow = "Allow"
	ActionDeny  = "Deny"
	ActionLog   = "Log"
	ActionPass  = "Pass"
)

// checkRules validates a list of rules under path (e.g. "spec.ingress").
func checkRules(e *Errs, path string, rules []Rule) {
	for i := range rules {
		checkRule(e, path+"["+itoa(i)+"]", &rules[i])
	}
}

func checkRule(e *Errs, p string, r *Rule) {
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
	if h := r.HTTP; h != nil {
		if r.Action != ActionAllow {
			e.Add(p+".http", nil, "HTTP match is only valid on Allow rules")
		}
		if n, ok := protoNum(r.Protocol); ok && n != 6 {
			e.Add(p+".protocol", r.Protocol.String(), "rules with an HTTP match must have protocol TCP or none")
		}
		for j, path := range h.Paths {
			if (path.Exact == "") == (path.Prefix == "") {
				e.Add(p+".http.paths["+itoa(j)+"]", nil, "must set exactly one of exact or prefix")
			}
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
			e.Add(path+".code", *f.Code, "requires type to be set")
		}
	}
}

func checkEntity(e *Errs, p string, er *EntityRule, r *Rule) {
	checkNets := func(field string, nets []string) {
		for i, n := range nets {
			fp := p + "." + field + "[" + itoa(i) + "]"
			if !CheckNet(e, fp, n) || r.IPVersion == nil {
				continue
			}
			if pr, err := netip.ParsePrefix(n); err == nil && (pr.Addr().Is4() != (*r.IPVersion == 4)) {
				e.Add(fp, n, "address family does not match ipVersion %d", *r.IPVersion)
			} else if a, err := netip.ParseAddr(n); err == nil && (a.Is4() != (*r.IPVersion == 4)) {
				e.Add(fp, n, "address family does not match ipVersion %d", *r.IPVersion)
			}
		}
	}
	checkNets("nets", er.Nets)
	checkNets("notNets", er.NotNets)
	CheckSelector(e, p+".selector", er.Selector)
	CheckSelector(e, p+".notSelector", er.NotSelector)
	CheckSelector(e, p+".namespaceSelector", er.NamespaceSelector)
	checkPorts := func(field string, ports []Port) {
		if len(ports) == 0 {
			return
		}
		if n, ok := protoNum(r.Protocol); !ok || n != 6 && n != 17 && n != 132 && n != 136 {
			e.Add(p+"."+field, nil, "ports require protocol TCP, UDP, SCTP or UDPLite")
		}
		for i, port := range ports {
			if port.PortName != "" {
				CheckPortName(e, p+"."+field+"["+itoa(i)+"]", port.PortName)
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
		}
		if er.Selector != "" || er.NotSelector != "" || er.NamespaceSelector != "" || len(er.Nets) > 0 || len(er.NotNets) > 0 || er.ServiceAccounts != nil {
			e.Add(p+".services", nil, "cannot be combined with selectors, nets or serviceAccounts in the same rule")
		}
	}
}
