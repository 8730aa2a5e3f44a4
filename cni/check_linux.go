package cni

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// checkWiring compares the kernel with what ADD programs and lists every difference.
// An empty list means the workload's network is intact.
func checkWiring(netnsPath, contIfName, hostVeth string, ips []netip.Prefix) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	contNS, err := netns.GetFromPath(netnsPath)
	if err != nil {
		return []string{fmt.Sprintf("container netns %s: %v", netnsPath, err)}
	}
	defer contNS.Close()
	ch, err := netlink.NewHandleAt(contNS)
	if err != nil {
		return []string{fmt.Sprintf("netlink in container netns: %v", err)}
	}
	defer ch.Close()

	cont, err := ch.LinkByName(contIfName)
	if err != nil {
		return []string{fmt.Sprintf("container interface %s is missing", contIfName)}
	}
	if _, ok := cont.(*netlink.Veth); !ok {
		bad("container interface %s is a %s, not a veth", contIfName, cont.Type())
	}
	if cont.Attrs().Flags&(1<<0) == 0 { // IFF_UP
		bad("container interface %s is down", contIfName)
	}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return ch.AddrList(cont, netlink.FAMILY_ALL) })
	if err != nil {
		bad("listing addresses of %s: %v", contIfName, err)
	}
	for _, p := range ips {
		if !hasAddr(addrs, p) {
			bad("container interface %s lacks address %s", contIfName, p)
		}
	}
	routes, err := retryDump(func() ([]netlink.Route, error) { return ch.RouteList(cont, netlink.FAMILY_ALL) })
	if err != nil {
		bad("listing container routes: %v", err)
	}
	if hasV4(ips) {
		if !hasRoute(routes, netip.PrefixFrom(GatewayV4, 32), netip.Addr{}) {
			bad("container lacks route 169.254.1.1 dev %s scope link", contIfName)
		}
		if !hasRoute(routes, netip.PrefixFrom(netip.IPv4Unspecified(), 0), GatewayV4) {
			bad("container lacks default route via 169.254.1.1")
		}
	}
	if hasV6(ips) && !hasRoute(routes, netip.PrefixFrom(netip.IPv6Unspecified(), 0), hostVethLinkLocal) {
		bad("container lacks IPv6 default route via %s", hostVethLinkLocal)
	}

	host, err := netlink.LinkByName(hostVeth)
	if err != nil {
		bad("host veth %s is missing", hostVeth)
		return problems
	}
	if !bytes.Equal(host.Attrs().HardwareAddr, HostVethMAC) {
		bad("host veth %s has MAC %s, want %s", hostVeth, host.Attrs().HardwareAddr, HostVethMAC)
	}
	if cont.Attrs().ParentIndex != 0 && cont.Attrs().ParentIndex != host.Attrs().Index {
		bad("container interface %s is not paired with host veth %s", contIfName, hostVeth)
	}
	if v, err := readSysctl("ipv4/conf/" + hostVeth + "/proxy_arp"); err != nil || v != "1" {
		bad("host veth %s does not have proxy_arp=1", hostVeth)
	}
	hostRoutes, err := retryDump(func() ([]netlink.Route, error) { return netlink.RouteList(host, netlink.FAMILY_ALL) })
	if err != nil {
		bad("listing host routes: %v", err)
	}
	for _, p := range ips {
		if !hasRoute(hostRoutes, p, netip.Addr{}) {
			bad("host lacks route %s dev %s", p, hostVeth)
		}
	}
	return problems
}

func hasAddr(addrs []netlink.Addr, p netip.Prefix) bool {
	for _, a := range addrs {
		if ap, ok := ipNetPrefix(a.IPNet); ok && ap == p {
			return true
		}
	}
	return false
}

func hasRoute(routes []netlink.Route, dst netip.Prefix, gw netip.Addr) bool {
	for _, r := range routes {
		rd := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if dst.Addr().Is6() {
			rd = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		if r.Dst != nil {
			var ok bool
			if rd, ok = ipNetPrefix(r.Dst); !ok {
				continue
			}
		}
		if rd != dst {
			continue
		}
		rgw, _ := netip.AddrFromSlice(r.Gw)
		if gw.IsValid() == rgw.IsValid() && (!gw.IsValid() || rgw.Unmap() == gw) {
			return true
		}
	}
	return false
}

func ipNetPrefix(n interface {
	String() string
}) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(n.String())
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()), true
}

func hasV4(ips []netip.Prefix) bool {
	for _, p := range ips {
		if p.Addr().Is4() {
			return true
		}
	}
	return false
}
