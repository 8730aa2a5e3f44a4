package explain

import (
	"fmt"
	"net/netip"
	"strings"
)

// Lookup returns the route the kernel chooses for dst among routes: the longest prefix that
// contains it, the lowest metric among equals (what `ip route get` answers for the main
// table; policy rules and ECMP weights are not modelled). ok is false when none matches.
func Lookup(routes []Route, dst netip.Addr) (Route, bool) {
	var best Route
	found := false
	for _, r := range routes {
		if !r.Dst.Contains(dst) {
			continue
		}
		if !found || r.Dst.Bits() > best.Dst.Bits() || (r.Dst.Bits() == best.Dst.Bits() && r.Metric < best.Metric) {
			best, found = r, true
		}
	}
	return best, found
}

// ProtoName spells a route protocol as iproute2 does.
func ProtoName(p int) string {
	switch p {
	case ProtoKernel:
		return "kernel"
	case ProtoBoot:
		return "boot"
	case ProtoStatic:
		return "static"
	case ProtoBird:
		return "bird"
	case ProtoBrindle:
		return "80"
	}
	return fmt.Sprint(p)
}

// Owner says who put a route in the kernel, from its protocol (docs/architecture.md, route
// ownership).
func Owner(r Route) string {
	switch r.Protocol {
	case ProtoBrindle:
		return "brindle, from the datastore"
	case ProtoBird:
		return "brindle, learned over BGP"
	case ProtoKernel:
		return "the kernel (connected subnet)"
	case ProtoBoot, ProtoStatic:
		return "the host's configuration"
	}
	return "another daemon (protocol " + ProtoName(r.Protocol) + ")"
}

// String prints a route as `ip route` does.
func (r Route) String() string {
	var b strings.Builder
	if r.Type != "" && r.Type != "unicast" {
		b.WriteString(r.Type + " ")
	}
	if r.Dst.Bits() == 0 {
		b.WriteString("default")
	} else if r.Dst.IsSingleIP() {
		b.WriteString(r.Dst.Addr().String())
	} else {
		b.WriteString(r.Dst.String())
	}
	if r.Gw.IsValid() {
		b.WriteString(" via " + r.Gw.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
	if r.Protocol != 0 {
		b.WriteString(" proto " + ProtoName(r.Protocol))
	}
	if !r.Gw.IsValid() && r.Dev != "" && (r.Type == "" || r.Type == "unicast") {
		b.WriteString(" scope link")
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	if r.Metric != 0 {
		b.WriteString(fmt.Sprintf(" metric %d", r.Metric))
	}
	return b.String()
}

// delivers reports whether r forwards packets (blackhole, unreachable and prohibit drop).
func (r Route) delivers() bool { return r.Type == "" || r.Type == "unicast" }

// sameForwarding reports whether the kernel route k forwards as the desired route d wants.
// A recursive desired route matches any gateway and device (the dataplane chose them).
func sameForwarding(k, d Route) bool {
	if k.Dst != d.Dst {
		return false
	}
	if d.Type == "blackhole" {
		return k.Type == "blackhole"
	}
	if !k.delivers() {
		return false
	}
	if d.Recursive {
		return true
	}
	return k.Dev == d.Dev && k.Gw == d.Gw
}

func (f *Facts) link(name string) (Link, bool) {
	for _, l := range f.Links {
		if l.Name == name {
			return l, true
		}
	}
	return Link{}, false
}

func (f *Facts) workloadByAddr(a netip.Addr) (Workload, bool) {
	for _, w := range f.Workloads {
		for _, p := range w.IPs {
			if p.Addr() == a {
				return w, true
			}
		}
	}
	return Workload{}, false
}

func (f *Facts) neigh(dev string, ip netip.Addr) (Neigh, bool) {
	for _, n := range f.Neighs {
		if n.IP == ip && (dev == "" || n.Dev == dev) {
			return n, true
		}
	}
	return Neigh{}, false
}

func (f *Facts) vtep(tunnel netip.Addr) (VTEP, bool) {
	for _, v := range f.VTEPs {
		if v.TunnelIP == tunnel {
			return v, true
		}
	}
	return VTEP{}, false
}

func (f *Facts) peer(addr netip.Addr) (string, string, bool) {
	if f.BGP == nil {
		return "", "", false
	}
	for _, p := range f.BGP.Peers {
		if p.Address == addr {
			return p.State, p.Info, true
		}
	}
	return "", "", false
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
