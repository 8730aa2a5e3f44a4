package testbed

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Options describes a test bed.
type Options struct {
	// Prefix starts every namespace name, unique per test area (e.g. "be2e-", "bvm-"). A
	// random suffix is added so parallel runs and leftovers never collide.
	Prefix string
	// Subnets of the fabric, one bridge each. Default: one subnet, 172.30.1.0/24. The router
	// takes the first address of every subnet.
	Subnets []netip.Prefix
	// Subnets6, when set, gives every subnet an IPv6 prefix as well (same index; one per
	// subnet): a dual-stack fabric. Router and hosts take the same host numbers as in IPv4.
	Subnets6 []netip.Prefix
	Hosts    []HostOptions
	MTU      int // uplink MTU, default 1500
}

// HostOptions places one host on a subnet.
type HostOptions struct {
	Name   string     // e.g. "node1"; used in the namespace name
	Subnet int        // index into Options.Subnets
	Addr   netip.Addr // default: the subnet's 11th, 12th, ... address in order of hosts
}

// Bed is a running test bed. Everything in it lives in namespaces it created.
type Bed struct {
	Tag      string // Prefix + random suffix, the start of every namespace name
	Fabric   *Netns // holds the bridges br0, br1, ... (one per subnet)
	Router   *Netns // one leg per subnet (eth0, eth1, ...), forwarding on
	Hosts    []*Host
	Subnets  []netip.Prefix
	Subnets6 []netip.Prefix // empty: IPv4 only
	MTU      int
	owned    []*Netns // in creation order, for Close
}

// Host is a node's namespace: uplink eth0 on its subnet, forwarding on, 169.254.1.1/32 on lo
// (so proxy ARP answers the workloads' gateway), routes to the other subnets via the router
// and no default route.
type Host struct {
	*Netns
	HostName string
	Subnet   int
	Addr     netip.Prefix // uplink address with the subnet's length
	Addr6    netip.Prefix // IPv6 uplink address (dual-stack beds), else invalid
	Uplink   string       // "eth0"
}

// RouterAddr is the router's address on subnet i; every host reaches it, so a scenario can run
// `brindle datastore run` in Router and point all nodes at RouterAddr(0).
func (b *Bed) RouterAddr(i int) netip.Addr { return b.Subnets[i].Masked().Addr().Next() }

// RouterAddr6 is the router's IPv6 address on subnet i (dual-stack beds).
func (b *Bed) RouterAddr6(i int) netip.Addr { return b.Subnets6[i].Masked().Addr().Next() }

// sameHostNumber is the address of p with the host part of the IPv4 address a (10.0.1.12
// in 10.0.1.0/24 gives fd00:1::c in fd00:1::/64): dual-stack hosts are easy to read.
func sameHostNumber(p netip.Prefix, v4 netip.Prefix, a netip.Addr) netip.Addr {
	n := addrNum(a) - addrNum(v4.Masked().Addr())
	b := p.Masked().Addr().As16()
	for i := 15; i >= 12 && n > 0; i-- {
		n += uint32(b[i])
		b[i] = byte(n)
		n >>= 8
	}
	return netip.AddrFrom16(b)
}

func addrNum(a netip.Addr) uint32 {
	v := a.As4()
	return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
}

// Host returns the host with that name, or nil.
func (b *Bed) Host(name string) *Host {
	for _, h := range b.Hosts {
		if h.HostName == name {
			return h
		}
	}
	return nil
}

// New builds the bed. On error, whatever was created is removed again.
func New(o Options) (*Bed, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	b := &Bed{Tag: o.Prefix + RandSuffix(), Subnets: o.Subnets, Subnets6: o.Subnets6, MTU: o.MTU}
	if err := b.build(o); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	return b, nil
}

func (o *Options) defaults() error {
	if o.Prefix == "" {
		return fmt.Errorf("testbed: Options.Prefix is required (e.g. \"be2e-\")")
	}
	if len(o.Subnets) == 0 {
		o.Subnets = []netip.Prefix{netip.MustParsePrefix("172.30.1.0/24")}
	}
	if o.MTU == 0 {
		o.MTU = 1500
	}
	next := make([]netip.Addr, len(o.Subnets))
	for i, s := range o.Subnets {
		if !s.Addr().Is4() {
			return fmt.Errorf("testbed: Subnets[%d] %s: only IPv4 subnets are supported", i, s)
		}
		if len(o.Subnets6) > 0 && (len(o.Subnets6) != len(o.Subnets) || !o.Subnets6[i].Addr().Is6() || o.Subnets6[i].Bits() > 120) {
			return fmt.Errorf("testbed: Subnets6 must give one IPv6 prefix of at most /120 per subnet, got %v", o.Subnets6)
		}
		next[i] = s.Masked().Addr()
		for range 11 {
			next[i] = next[i].Next()
		}
	}
	for i := range o.Hosts {
		h := &o.Hosts[i]
		if h.Name == "" {
			return fmt.Errorf("testbed: Hosts[%d].Name is required", i)
		}
		if h.Subnet < 0 || h.Subnet >= len(o.Subnets) {
			return fmt.Errorf("testbed: Hosts[%d].Subnet %d: there are %d subnets", i, h.Subnet, len(o.Subnets))
		}
		if !h.Addr.IsValid() {
			h.Addr = next[h.Subnet]
			next[h.Subnet] = next[h.Subnet].Next()
		} else if !o.Subnets[h.Subnet].Contains(h.Addr) {
			return fmt.Errorf("testbed: Hosts[%d].Addr %s is not in subnet %s", i, h.Addr, o.Subnets[h.Subnet])
		}
	}
	return nil
}

func (b *Bed) newNetns(role string) (*Netns, error) {
	n, err := NewNetns(b.Tag + "-" + role)
	if err != nil {
		return nil, err
	}
	b.owned = append(b.owned, n)
	return n, nil
}

func (b *Bed) build(o Options) error {
	var err error
	if b.Fabric, err = b.newNetns("fab"); err != nil {
		return err
	}
	if b.Router, err = b.newNetns("rtr"); err != nil {
		return err
	}
	if err := b.Router.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	if len(b.Subnets6) > 0 {
		if err := b.Router.Sysctl("net/ipv6/conf/all/forwarding", "1"); err != nil {
			return err
		}
	}
	for i, s := range b.Subnets {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("br%d", i), MTU: b.MTU}}
		if err := b.Fabric.NL.LinkAdd(br); err != nil {
			return fmt.Errorf("fabric bridge %s: %w", br.Name, err)
		}
		if err := b.Fabric.NL.LinkSetUp(br); err != nil {
			return fmt.Errorf("fabric bridge %s up: %w", br.Name, err)
		}
		leg := fmt.Sprintf("eth%d", i)
		addr := netip.PrefixFrom(b.RouterAddr(i), s.Bits())
		if err := b.plug(plugOptions{Subnet: i, Port: fmt.Sprintf("r%d", i), Peer: b.Router, PeerIf: leg, Addr: addr}); err != nil {
			return err
		}
		if len(b.Subnets6) > 0 {
			if err := AddrUp(b.Router, leg, netip.PrefixFrom(b.RouterAddr6(i), b.Subnets6[i].Bits())); err != nil {
				return err
			}
		}
	}
	for i, ho := range o.Hosts {
		n, err := b.newNetns("h-" + ho.Name)
		if err != nil {
			return err
		}
		h := &Host{Netns: n, HostName: ho.Name, Subnet: ho.Subnet, Uplink: "eth0",
			Addr: netip.PrefixFrom(ho.Addr, b.Subnets[ho.Subnet].Bits())}
		if err := b.plug(plugOptions{Subnet: ho.Subnet, Port: fmt.Sprintf("h%d", i), Peer: n, PeerIf: h.Uplink, Addr: h.Addr}); err != nil {
			return err
		}
		if len(b.Subnets6) > 0 {
			s6 := b.Subnets6[ho.Subnet]
			h.Addr6 = netip.PrefixFrom(sameHostNumber(s6, b.Subnets[ho.Subnet], ho.Addr), s6.Bits())
			if err := AddrUp(n, h.Uplink, h.Addr6); err != nil {
				return err
			}
		}
		if err := b.setupHost(h); err != nil {
			return err
		}
		b.Hosts = append(b.Hosts, h)
	}
	return b.waitReady()
}

// waitReady pings the router from every host until it answers. Right after the links come up
// a first ARP exchange was seen to get lost (one ping in a few hundred on a loaded machine);
// doing it here keeps that out of the scenarios and proves the fabric before they start.
func (b *Bed) waitReady() error {
	for _, h := range b.Hosts {
		gw := b.RouterAddr(h.Subnet)
		got, err := Ping(h.Netns, gw, 1, 3*time.Second)
		for try := 0; got == 0 && err == nil && try < 3; try++ {
			got, err = Ping(h.Netns, gw, 1, 3*time.Second)
		}
		if err != nil {
			return err
		}
		if got == 0 {
			return fmt.Errorf("testbed: host %s (%s) cannot reach the router at %s", h.HostName, h.Addr, gw)
		}
		if h.Addr6.IsValid() {
			gw6 := b.RouterAddr6(h.Subnet)
			got, err := Ping(h.Netns, gw6, 1, 3*time.Second)
			for try := 0; got == 0 && err == nil && try < 3; try++ {
				got, err = Ping(h.Netns, gw6, 1, 3*time.Second)
			}
			if err != nil {
				return err
			}
			if got == 0 {
				return fmt.Errorf("testbed: host %s (%s) cannot reach the router at %s", h.HostName, h.Addr6, gw6)
			}
		}
	}
	return nil
}

// plugOptions connects a namespace to a subnet's bridge with a veth.
type plugOptions struct {
	Subnet int
	Port   string // veth end in the fabric, enslaved to br<Subnet>
	Peer   *Netns
	PeerIf string // veth end in Peer
	Addr   netip.Prefix
}

func (b *Bed) plug(p plugOptions) error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: p.Port, MTU: b.MTU},
		PeerName:      p.PeerIf,
		PeerNamespace: netlink.NsFd(int(p.Peer.NS)),
	}
	if err := b.Fabric.NL.LinkAdd(veth); err != nil {
		return fmt.Errorf("veth %s <-> %s/%s: %w", p.Port, p.Peer.Name, p.PeerIf, err)
	}
	port, err := b.Fabric.NL.LinkByName(p.Port)
	if err != nil {
		return fmt.Errorf("fabric port %s: %w", p.Port, err)
	}
	br, err := b.Fabric.NL.LinkByName(fmt.Sprintf("br%d", p.Subnet))
	if err != nil {
		return fmt.Errorf("fabric bridge br%d: %w", p.Subnet, err)
	}
	if err := b.Fabric.NL.LinkSetMaster(port, br); err != nil {
		return fmt.Errorf("enslaving %s to %s: %w", p.Port, br.Attrs().Name, err)
	}
	if err := b.Fabric.NL.LinkSetUp(port); err != nil {
		return fmt.Errorf("fabric port %s up: %w", p.Port, err)
	}
	return AddrUp(p.Peer, p.PeerIf, p.Addr)
}

// AddrUp adds addr to the named link in n and brings the link up.
func AddrUp(n *Netns, ifname string, addr netip.Prefix) error {
	l, err := n.NL.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("link %s in %s: %w", ifname, n.Name, err)
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), addr.Addr().BitLen())}}
	if addr.Addr().Is6() {
		// No duplicate address detection: the address is usable at once, not after a
		// second of tentative state (and every address in a bed is unique anyway).
		a.Flags = unix.IFA_F_NODAD
	}
	if err := n.NL.AddrAdd(l, a); err != nil {
		return fmt.Errorf("address %s on %s in %s: %w", addr, ifname, n.Name, err)
	}
	if err := n.NL.LinkSetUp(l); err != nil {
		return fmt.Errorf("link %s up in %s: %w", ifname, n.Name, err)
	}
	return nil
}

func (b *Bed) setupHost(h *Host) error {
	if err := h.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	if err := AddrUp(h.Netns, "lo", netip.MustParsePrefix("169.254.1.1/32")); err != nil {
		return err
	}
	up, err := h.NL.LinkByName(h.Uplink)
	if err != nil {
		return fmt.Errorf("uplink of %s: %w", h.HostName, err)
	}
	gw := b.RouterAddr(h.Subnet)
	for i, s := range b.Subnets {
		if i == h.Subnet {
			continue
		}
		r := &netlink.Route{LinkIndex: up.Attrs().Index, Dst: ipNet(s.Masked()), Gw: gw.AsSlice()}
		if err := h.NL.RouteAdd(r); err != nil {
			return fmt.Errorf("route %s via %s in %s: %w", s, gw, h.Name, err)
		}
	}
	if !h.Addr6.IsValid() {
		return nil
	}
	if err := h.Sysctl("net/ipv6/conf/all/forwarding", "1"); err != nil {
		return err
	}
	gw6 := b.RouterAddr6(h.Subnet)
	for i, s := range b.Subnets6 {
		if i == h.Subnet {
			continue
		}
		r := &netlink.Route{LinkIndex: up.Attrs().Index, Dst: ipNet(s.Masked()), Gw: gw6.AsSlice()}
		if err := h.NL.RouteAdd(r); err != nil {
			return fmt.Errorf("route %s via %s in %s: %w", s, gw6, h.Name, err)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Close deletes every namespace of the bed, hosts first. Stop processes running in them
// before (t.Cleanup order does this when they were started after the bed).
func (b *Bed) Close() error {
	var errs []error
	for i := len(b.owned) - 1; i >= 0; i-- {
		errs = append(errs, b.owned[i].Close())
	}
	b.owned = nil
	return errors.Join(errs...)
}
