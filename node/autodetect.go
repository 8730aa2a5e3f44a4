// Package node is the agent behind `brindle node run`: it registers the host as a Calico Node,
// keeps its tunnel addresses, and drives the dataplane and the BGP speaker from the datastore.
package node

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
)

// Interface is one host interface with its addresses, as the autodetection sees it.
type Interface struct {
	Name  string
	Up    bool
	Addrs []netip.Prefix // with their on-link prefix length, e.g. 10.0.0.5/24
}

// defaultSkip are interfaces Calico never picks: container veths, tunnels, bridges of other
// container runtimes, loopback-like devices.
var defaultSkip = regexp.MustCompile(`^(docker.*|cbr.*|dummy.*|virbr.*|lxcbr.*|veth.*|lo|cali.*|tunl.*|flannel.*|kube-ipvs.*|cni.*|vxlan.*|vxlan-v6.*|wireguard.*|br-.*|genev_sys_.*|nodelocaldns.*|egress.calico|bpf.*|ip6tnl.*|sit.*|gre.*|wg-.*)$`)

// Detect picks this node's IPv4 address in CIDR form with one of Calico's methods:
// first-found, interface=<regex>, skip-interface=<regex>, can-reach=<ip>, cidr=<cidr>[,<cidr>].
// route is consulted only by can-reach: it returns the source address the kernel would use.
func Detect(method string, ifaces []Interface, route func(dst netip.Addr) (netip.Addr, error)) (netip.Prefix, error) {
	return DetectVersion(method, 4, ifaces, route)
}

// DetectVersion is Detect for IPv4 (version 4) or IPv6 (version 6, IP6_AUTODETECTION_METHOD):
// the same methods, and only addresses of that family count (IPv6 link-local ones never do,
// as in Calico's autodetection).
func DetectVersion(method string, version int, ifaces []Interface, route func(dst netip.Addr) (netip.Addr, error)) (netip.Prefix, error) {
	ifaces = onlyFamily(ifaces, version)
	kind, arg, _ := strings.Cut(method, "=")
	switch kind {
	case "", "first-found":
		return firstFound(ifaces, func(i Interface) bool { return !defaultSkip.MatchString(i.Name) }, nil)
	case "interface":
		re, err := compileList(arg)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: %w", method, err)
		}
		return firstFound(ifaces, func(i Interface) bool { return re.MatchString(i.Name) }, nil)
	case "skip-interface":
		re, err := compileList(arg)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: %w", method, err)
		}
		return firstFound(ifaces, func(i Interface) bool {
			return !re.MatchString(i.Name) && !defaultSkip.MatchString(i.Name)
		}, nil)
	case "cidr":
		var nets []netip.Prefix
		for _, s := range strings.Split(arg, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: %q is not a CIDR", method, s)
			}
			nets = append(nets, p.Masked())
		}
		return firstFound(ifaces, func(i Interface) bool { return !defaultSkip.MatchString(i.Name) }, func(a netip.Prefix) bool {
			for _, n := range nets {
				if n.Contains(a.Addr()) {
					return true
				}
			}
			return false
		})
	case "can-reach":
		dst, err := resolve(arg)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: %w", method, err)
		}
		if dst.Is4() != (version == 4) {
			return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: %s is not an IPv%d address", method, dst, version)
		}
		src, err := route(dst)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: no route to %s: %w", method, dst, err)
		}
		for _, i := range ifaces {
			for _, a := range i.Addrs {
				if a.Addr() == src {
					return a, nil
				}
			}
		}
		return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: source address %s is on no interface", method, src)
	}
	return netip.Prefix{}, fmt.Errorf("IP autodetection method %q: unknown; use first-found, interface=<regex>, skip-interface=<regex>, can-reach=<ip>, cidr=<cidr>", method)
}

func firstFound(ifaces []Interface, useIface func(Interface) bool, useAddr func(netip.Prefix) bool) (netip.Prefix, error) {
	for _, i := range ifaces {
		if !i.Up || !useIface(i) {
			continue
		}
		for _, a := range i.Addrs {
			if a.Addr().IsLoopback() || a.Addr().IsLinkLocalUnicast() {
				continue
			}
			if useAddr == nil || useAddr(a) {
				return a, nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("no usable address of this family found on any interface")
}

// onlyFamily keeps the addresses of one IP version.
func onlyFamily(ifaces []Interface, version int) []Interface {
	out := make([]Interface, 0, len(ifaces))
	for _, i := range ifaces {
		j := i
		j.Addrs = nil
		for _, a := range i.Addrs {
			if a.Addr().Unmap().Is4() == (version == 4) {
				j.Addrs = append(j.Addrs, netip.PrefixFrom(a.Addr().Unmap(), a.Bits()))
			}
		}
		out = append(out, j)
	}
	return out
}

// compileList turns Calico's comma-separated regex list into one anchored regex.
func compileList(s string) (*regexp.Regexp, error) {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = "(?:" + strings.TrimSpace(p) + ")"
	}
	return regexp.Compile("^(?:" + strings.Join(parts, "|") + ")$")
}

func resolve(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	ips, err := net.LookupIP(s)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("%q is neither an IP address nor a resolvable name", s)
	}
	a, _ := netip.AddrFromSlice(ips[0])
	return a.Unmap(), nil
}
