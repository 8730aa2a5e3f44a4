package api

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/brindle-net/brindle/api/selector"
)

// Shared field checks. Each adds at most one error for its path and reports whether the
// value was acceptable, so callers can skip checks that depend on it.

var (
	dns1123Label     = lazyRE(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = lazyRE(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// Calico's interface names: what Linux allows, minus '/' and whitespace.
	ifaceName = lazyRE(`^[a-zA-Z0-9_.@:-]{1,15}$`)
	// IANA service names (RFC 6335): what Kubernetes and Calico accept as named ports.
	portName   = lazyRE(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	hasLetter  = lazyRE(`[a-z]`)
	labelKey   = lazyRE(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	labelValue = lazyRE(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`)
)

// CheckName validates a resource or node name: a DNS-1123 subdomain (lower case letters,
// digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters).
func CheckName(e *Errs, path, name string) bool {
	switch {
	case name == "":
		e.Add(path, nil, "is required")
	case len(name) > 253:
		e.Add(path, name, "must be at most 253 characters")
	case !dns1123Subdomain.MatchString(name):
		e.Add(path, name, "must consist of lower case letters, digits, '-' and '.', and start and end with a letter or digit")
	default:
		return true
	}
	return false
}

// CheckLabel validates a DNS-1123 label (namespaces, tier names).
func CheckLabel(e *Errs, path, name string) bool {
	switch {
	case name == "":
		e.Add(path, nil, "is required")
	case len(name) > 63:
		e.Add(path, name, "must be at most 63 characters")
	case !dns1123Label.MatchString(name):
		e.Add(path, name, "must consist of lower case letters, digits and '-', and start and end with a letter or digit")
	default:
		return true
	}
	return false
}

// checkMeta validates name, namespace (for namespaced kinds) and labels.
func checkMeta(e *Errs, m *ObjectMeta, namespaced bool) {
	CheckName(e, "metadata.name", m.Name)
	if namespaced && m.Namespace != "" {
		CheckLabel(e, "metadata.namespace", m.Namespace)
	}
	if !namespaced && m.Namespace != "" {
		e.Add("metadata.namespace", m.Namespace, "must be empty: this kind is not namespaced")
	}
	CheckLabels(e, "metadata.labels", m.Labels)
	checkAnnotations(e, "metadata.annotations", m.Annotations)
}

// CheckLabels validates label keys and values as Kubernetes and Calico do; each error's
// path is path[key].
func CheckLabels(e *Errs, path string, labels Labels) {
	for _, k := range labels.SortedKeys() {
		v := labels[k]
		p := fmt.Sprintf("%s[%s]", path, k)
		if len(k) > 316 || !labelKey.MatchString(k) {
			e.Add(p, k, "label key must be an optional DNS prefix and '/', then letters, digits, '-', '_' or '.'")
		}
		if len(v) > 63 || !labelValue.MatchString(v) {
			e.Add(p, v, "label value must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
		}
	}
}

// CheckSelector validates a selector expression with the selector package's parser.
func CheckSelector(e *Errs, path, s string) bool {
	if s == "" {
		return true
	}
	if _, err := selector.Parse(s); err != nil {
		e.Add(path, nil, "%v", err) // the parser's message quotes the selector and the position
		return false
	}
	return true
}

// CheckCIDR validates a network in CIDR form; masked requires no host bits set.
// It returns the parsed prefix (zero when invalid).
func CheckCIDR(e *Errs, path, s string, masked bool) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		e.Add(path, s, "must be a network in CIDR form, e.g. 10.0.0.0/16")
		return netip.Prefix{}, false
	}
	if masked && p.Masked() != p {
		e.Add(path, s, "host bits must be zero: did you mean %s?", p.Masked())
		return p, false
	}
	return p, true
}

// CheckNet accepts a CIDR or a bare IP (treated as /32 or /128), as Calico's "net" rule does.
func CheckNet(e *Errs, path, s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	e.Add(path, s, "must be an IP address or a network in CIDR form")
	return false
}

// CheckIP validates an address; family is 4, 6 or 0 for either.
func CheckIP(e *Errs, path, s string, family int) bool {
	a, err := netip.ParseAddr(s)
	ok := err == nil && a.Zone() == ""
	switch family {
	case 4:
		ok = ok && a.Is4()
	case 6:
		ok = ok && a.Is6() && !a.Is4In6()
	}
	if ok {
		return true
	}
	what := map[int]string{0: "an IP address", 4: "an IPv4 address", 6: "an IPv6 address"}[family]
	e.Add(path, s, "must be %s", what)
	return false
}

// CheckIfaceCIDR validates an address with its prefix length, e.g. 10.0.0.5/24 (host bits allowed).
func CheckIfaceCIDR(e *Errs, path, s string, family int) bool {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		if _, ipErr := netip.ParseAddr(s); ipErr == nil {
			e.Add(path, s, "must include the prefix length, e.g. %s/24", s)
		} else {
			e.Add(path, s, "must be an address with prefix length, e.g. 10.0.0.5/24")
		}
	case family == 4 && !p.Addr().Is4():
		e.Add(path, s, "must be an IPv4 address with prefix length")
	case family == 6 && !p.Addr().Is6():
		e.Add(path, s, "must be an IPv6 address with prefix length")
	default:
		return true
	}
	return false
}

// CheckASNumber rejects AS 0 (the type already bounds it to 32 bits).
func CheckASNumber(e *Errs, path string, a *ASNumber) {
	if a != nil && *a == 0 {
		e.Add(path, 0, "must be an AS number 1-4294967295")
	}
}

// CheckMAC validates a MAC address.
func CheckMAC(e *Errs, path, s string) {
	if _, err := net.ParseMAC(s); err != nil {
		e.Add(path, s, "must be a MAC address, e.g. 66:0a:1b:2c:3d:4e")
	}
}

// CheckIfaceName validates a Linux interface name.
func CheckIfaceName(e *Errs, path, s string) {
	if !ifaceName.MatchString(s) {
		e.Add(path, s, "must be an interface name of 1-15 letters, digits, '_', '.', '-', '@' or ':'")
	}
}

// CheckOneOf validates an enumerated value (empty allowed when optional).
func CheckOneOf(e *Errs, path, v string, optional bool, allowed ...string) bool {
	if v == "" && optional {
		return true
	}
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	e.Add(path, v, "must be one of %s", strings.Join(allowed, ", "))
	return false
}

// CheckPortName validates a named port (RFC 6335 service name).
func CheckPortName(e *Errs, path, s string) bool {
	if len(s) > 15 || !portName.MatchString(s) || !hasLetter.MatchString(s) || strings.Contains(s, "--") {
		e.Add(path, s, "named port must be 1-15 lower case letters, digits and '-', with at least one letter")
		return false
	}
	return true
}
