package dataplane

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/brindle-net/brindle/calc"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// tunnels owns tunl0 and vxlan.calico, recognised by name. It reads both devices back on
// every apply (two small requests), so a device deleted or changed by hand is repaired.
type tunnels struct {
	h     *nsHandles
	log   *zap.Logger
	links *linkIndex
	// recreated is set when a device was (re)created: routes and neighbours through it are
	// gone and the other reconcilers must re-read the kernel.
	recreated bool
}

func (t *tunnels) apply(ipip *calc.IPIPDevice, vx, vx6 *calc.VXLANDevice) error {
	t.recreated = false
	return errors.Join(t.applyIPIP(ipip), t.applyVXLAN(calc.VXLANDeviceName, vx), t.applyVXLAN(calc.VXLANV6DeviceName, vx6))
}

func linkByName(h *nsHandles, name string) (netlink.Link, error) {
	l, err := h.nl.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil, nil
	}
	return l, err
}

func (t *tunnels) applyIPIP(want *calc.IPIPDevice) error {
	link, err := linkByName(t.h, calc.IPIPDeviceName)
	if err != nil {
		return fmt.Errorf("%s: %w", calc.IPIPDeviceName, err)
	}
	if want == nil {
		// tunl0 is the ipip module's fallback device and cannot be deleted; only drop the
		// tunnel address brindle gave it, which IPAM may hand to someone else.
		if link != nil {
			return syncAddr(t.h, link, netip.Addr{}, false)
		}
		return nil
	}
	if link != nil && link.Type() != "ipip" {
		return fmt.Errorf("%s exists with type %s, not ipip; remove it", calc.IPIPDeviceName, link.Type())
	}
	if link == nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU = want.Name, want.MTU
		if err := t.h.nl.LinkAdd(&netlink.Iptun{LinkAttrs: la}); err != nil {
			return fmt.Errorf("create %s (does the kernel have the ipip module?): %w", want.Name, err)
		}
		t.log.Info("created tunnel device", zap.String("dev", want.Name), zap.String("reason", want.Reason))
		t.recreated = true
		t.links.markStale()
		if link, err = t.h.nl.LinkByName(want.Name); err != nil {
			return fmt.Errorf("%s: %w", want.Name, err)
		}
	}
	return t.finish(link, want.MTU, nil, want.Addr)
}

// applyVXLAN keeps the device called name (vxlan.calico or vxlan-v6.calico) as wanted.
func (t *tunnels) applyVXLAN(name string, want *calc.VXLANDevice) error {
	link, err := linkByName(t.h, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if want == nil {
		if link == nil {
			return nil
		}
		t.log.Info("removing tunnel device: no pool of its family uses VXLAN", zap.String("dev", name))
		t.links.markStale()
		return t.h.nl.LinkDel(link)
	}
	parent, err := t.parentIndex(want)
	if err != nil {
		return err
	}
	spec := &netlink.Vxlan{
		VxlanId:      want.VNI,
		Port:         want.Port,
		VtepDevIndex: parent,
		SrcAddr:      want.SrcAddr.AsSlice(),
		// Learning off: peers are known from the datastore, and learned entries would
		// compete with the permanent FDB entries brindle writes.
		Learning: false,
	}
	if link != nil && !sameVXLAN(link, spec) {
		t.log.Info("recreating tunnel device with new parameters", zap.String("dev", want.Name))
		if err := t.h.nl.LinkDel(link); err != nil {
			return fmt.Errorf("delete %s: %w", want.Name, err)
		}
		link = nil
	}
	if link == nil {
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU, la.HardwareAddr = want.Name, want.MTU, want.MAC
		spec.LinkAttrs = la
		if err := t.h.nl.LinkAdd(spec); err != nil {
			return fmt.Errorf("create %s: %w", want.Name, err)
		}
		t.log.Info("created tunnel device", zap.String("dev", want.Name), zap.String("reason", want.Reason))
		t.recreated = true
		t.links.markStale()
		if link, err = t.h.nl.LinkByName(want.Name); err != nil {
			return fmt.Errorf("%s: %w", want.Name, err)
		}
	}
	return t.finish(link, want.MTU, want.MAC, want.Addr)
}

// parentIndex finds the VXLAN device's underlay: the named uplink, or else the interface
// holding the node's address.
func (t *tunnels) parentIndex(want *calc.VXLANDevice) (int, error) {
	if want.Parent != "" {
		if i, ok := t.links.index(want.Parent); ok {
			return i, nil
		}
		return 0, fmt.Errorf("%s: parent device %s not found", want.Name, want.Parent)
	}
	addrs, err := dump("addresses", func() ([]netlink.Addr, error) { return t.h.nl.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return 0, err
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == want.SrcAddr {
			return a.LinkIndex, nil
		}
	}
	return 0, fmt.Errorf("%s: no interface holds the node address %s", want.Name, want.SrcAddr)
}

func sameVXLAN(l netlink.Link, want *netlink.Vxlan) bool {
	v, ok := l.(*netlink.Vxlan)
	return ok && v.VxlanId == want.VxlanId && v.Port == want.Port &&
		v.VtepDevIndex == want.VtepDevIndex && v.SrcAddr.Equal(want.SrcAddr) && v.Learning == want.Learning
}

// finish sets MTU and MAC, brings the device up and gives it exactly the wanted /32 (/128
// for vxlan-v6.calico).
func (t *tunnels) finish(link netlink.Link, mtu int, mac net.HardwareAddr, addr netip.Addr) error {
	name := link.Attrs().Name
	if link.Attrs().MTU != mtu {
		if err := t.h.nl.LinkSetMTU(link, mtu); err != nil {
			return fmt.Errorf("%s mtu %d: %w", name, mtu, err)
		}
	}
	if mac != nil && !bytes.Equal(link.Attrs().HardwareAddr, mac) {
		if err := t.h.nl.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("%s mac %s: %w", name, mac, err)
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := t.h.nl.LinkSetUp(link); err != nil {
			return fmt.Errorf("%s up: %w", name, err)
		}
	}
	return syncAddr(t.h, link, addr, link.Attrs().Name == calc.VXLANV6DeviceName)
}

// syncAddr leaves exactly addr/32 (or nothing, for an invalid addr) on a tunnel device, or
// with v6 addr/128. The device is brindle's, so any other address of the family on it is
// stale, except IPv6 link-local ones, which the kernel gives every device.
func syncAddr(h *nsHandles, link netlink.Link, addr netip.Addr, v6 bool) error {
	name := link.Attrs().Name
	fam, bits := netlink.FAMILY_V4, 32
	if v6 {
		fam, bits = netlink.FAMILY_V6, 128
	}
	have, err := dump(name+" addresses", func() ([]netlink.Addr, error) { return h.nl.AddrList(link, fam) })
	if err != nil {
		return err
	}
	found := false
	for _, a := range have {
		ip, _ := netip.AddrFromSlice(a.IP)
		ones, _ := a.Mask.Size()
		if ip.Unmap() == addr && ones == bits {
			found = true
			continue
		}
		if ip.IsLinkLocalUnicast() {
			continue
		}
		if err := h.nl.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("%s: remove %s: %w", name, a.IPNet, err)
		}
	}
	if found || !addr.IsValid() {
		return nil
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(bits, bits)}}
	if v6 {
		a.Flags = unix.IFA_F_NODAD // usable at once; the address is unique by IPAM
	}
	if err := h.nl.AddrReplace(link, a); err != nil {
		return fmt.Errorf("%s: add %s/%d: %w", name, addr, bits, err)
	}
	return nil
}
