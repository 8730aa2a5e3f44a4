package node

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// hostInterfaces lists the interfaces of the agent's network namespace for autodetection.
func hostInterfaces() ([]Interface, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var out []Interface
	for _, l := range links {
		attrs := l.Attrs()
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("listing addresses of %s: %w", attrs.Name, err)
		}
		i := Interface{Name: attrs.Name, Up: attrs.Flags&net.FlagUp != 0}
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok {
				continue
			}
			ones, _ := a.Mask.Size()
			i.Addrs = append(i.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
		}
		out = append(out, i)
	}
	return out, nil
}

// routeSource is the source address the kernel would use towards dst (for can-reach).
func routeSource(dst netip.Addr) (netip.Addr, error) {
	routes, err := netlink.RouteGet(dst.AsSlice())
	if err != nil {
		return netip.Addr{}, err
	}
	if len(routes) == 0 || routes[0].Src == nil {
		return netip.Addr{}, fmt.Errorf("no route")
	}
	a, _ := netip.AddrFromSlice(routes[0].Src)
	return a.Unmap(), nil
}

// uplinkFor finds the interface holding addr and its MTU: the tunnels' parent and the base
// of every MTU calculation.
func uplinkFor(addr netip.Addr) (name string, mtu int, err error) {
	ifaces, err := hostInterfaces()
	if err != nil {
		return "", 0, err
	}
	for _, i := range ifaces {
		for _, a := range i.Addrs {
			if a.Addr() == addr {
				l, err := netlink.LinkByName(i.Name)
				if err != nil {
					return "", 0, err
				}
				return i.Name, l.Attrs().MTU, nil
			}
		}
	}
	return "", 0, fmt.Errorf("no interface holds the node address %s", addr)
}
