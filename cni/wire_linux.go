package cni

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// HostVethMAC is the fixed host-side MAC Calico gives every workload veth, so the container's
// neighbour entry for its gateway never changes.
var HostVethMAC = net.HardwareAddr{0xee, 0xee, 0xee, 0xee, 0xee, 0xee}

// GatewayV4 is the container's IPv4 next hop; nothing owns it, the host veth answers ARP for it.
var GatewayV4 = netip.MustParseAddr("169.254.1.1")

// hostVethLinkLocal is the EUI-64 link-local address the kernel derives from HostVethMAC; the
// container's IPv6 default route points at it.
var hostVethLinkLocal = netip.MustParseAddr("fe80::ecee:eeff:feee:eeee")

// WireOptions describe one workload's veth pair.
type WireOptions struct {
	Netns             string         // container network namespace path (CNI_NETNS)
	ContIfName        string         // container-side name (CNI_IFNAME)
	HostVeth          string         // host-side name, cali...
	MTU               int            // both ends
	IPs               []netip.Prefix // /32 and /128 addresses for the container
	AllowIPForwarding bool
	IPv6              bool // IPv6 addresses will follow (PrepareVeth without IPs)
}

// Wired is what the wiring produced.
type Wired struct {
	ContainerMAC net.HardwareAddr
	HostIndex    int
}

// Wire creates the veth pair and programs addresses, routes and sysctls on both sides, as
// Calico does: PrepareVeth and Finish in one go. The calling thread's namespace is the host.
// On failure everything it created is removed again before the error is returned.
func Wire(opts WireOptions) (*Wired, error) {
	v, err := PrepareVeth(opts)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	w, err := v.Finish(opts.IPs)
	if err != nil {
		_ = v.Remove()
		return nil, err
	}
	return w, nil
}

func addContainerAddrsRoutes(ch *netlink.Handle, cont netlink.Link, ips []netip.Prefix) error {
	idx := cont.Attrs().Index
	var haveV4, haveV6 bool
	for _, p := range ips {
		a := &netlink.Addr{IPNet: prefixToIPNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD
			haveV6 = true
		} else {
			haveV4 = true
		}
		if err := ch.AddrAdd(cont, a); err != nil {
			return fmt.Errorf("adding %s to the container interface: %w", p, err)
		}
	}
	if haveV4 {
		gw := prefixToIPNet(netip.PrefixFrom(GatewayV4, 32))
		if err := ch.RouteAdd(&netlink.Route{LinkIndex: idx, Dst: gw, Scope: netlink.SCOPE_LINK}); err != nil {
			return fmt.Errorf("adding route 169.254.1.1 dev %s in container: %w", cont.Attrs().Name, err)
		}
		if err := ch.RouteAdd(&netlink.Route{LinkIndex: idx, Dst: zeroNet(false), Gw: GatewayV4.AsSlice()}); err != nil {
			return fmt.Errorf("adding default route via 169.254.1.1 in container: %w", err)
		}
	}
	if haveV6 {
		if err := ch.RouteAdd(&netlink.Route{LinkIndex: idx, Dst: zeroNet(true), Gw: hostVethLinkLocal.AsSlice()}); err != nil {
			return fmt.Errorf("adding IPv6 default route via %s in container: %w", hostVethLinkLocal, err)
		}
	}
	return nil
}

// addHostRoutes adds `<ip>/32 dev cali... scope link`. An existing identical route (another
// attempt at the same workload) is fine; one through another interface means the address is
// in use elsewhere on this host, which must not be papered over.
func addHostRoutes(hh *netlink.Handle, host netlink.Link, ips []netip.Prefix) error {
	for _, p := range ips {
		r := &netlink.Route{LinkIndex: host.Attrs().Index, Dst: prefixToIPNet(p), Scope: netlink.SCOPE_LINK}
		err := hh.RouteAdd(r)
		if errors.Is(err, unix.EEXIST) {
			existing, lerr := routesTo(hh, p)
			if lerr == nil && len(existing) > 0 && existing[0].LinkIndex == host.Attrs().Index {
				continue
			}
			return fmt.Errorf("host already routes %s through another interface: the address is in use on this host", p)
		}
		if err != nil {
			return fmt.Errorf("adding host route %s dev %s: %w", p, host.Attrs().Name, err)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}

func hasV6(ips []netip.Prefix) bool {
	for _, p := range ips {
		if p.Addr().Is6() {
			return true
		}
	}
	return false
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

func zeroNet(v6 bool) *net.IPNet {
	if v6 {
		return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
}
