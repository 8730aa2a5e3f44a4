package cni

import (
	"context"
	"fmt"
	"golang.org/x/sys/unix"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Veth is a workload's veth pair in two stages. PrepareVeth creates the pair, sets its MTU
// and sysctls and brings both ends up: everything that needs no address, so ADD can do it
// while it is still connecting to etcd and waiting for IPAM. Finish then adds the addresses
// and routes. Close releases the netlink handles; Remove deletes the pair.
type Veth struct {
	opts   WireOptions
	contNS netns.NsHandle
	ch, hh *netlink.Handle
	host   netlink.Link
	cont   netlink.Link
	made   bool // the pair exists and is ours to remove
	v6     bool // the IPv6 sysctls are written
}

// ErrContainerIfExists is returned by PrepareVeth when the container already has an
// interface of that name: an earlier ADD's, which only the caller can judge.
type ErrContainerIfExists struct{ Netns, IfName string }

func (e *ErrContainerIfExists) Error() string {
	return fmt.Sprintf("container netns %s already has an interface %s: DEL the previous attachment first", e.Netns, e.IfName)
}

// PrepareVeth creates the pair with the host side in the calling thread's namespace.
// opts.IPs may be empty; opts.IPv6 (or an IPv6 address in opts.IPs) writes the IPv6 sysctls
// now rather than in Finish. On failure nothing it created is left behind.
func PrepareVeth(opts WireOptions) (_ *Veth, err error) {
	v := &Veth{opts: opts, contNS: netns.None()}
	defer func() {
		if err != nil {
			v.Close()
		}
	}()
	if v.contNS, err = netns.GetFromPath(opts.Netns); err != nil {
		return nil, fmt.Errorf("opening container netns %s: %w", opts.Netns, err)
	}
	hostNS, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("opening host netns: %w", err)
	}
	defer hostNS.Close()
	// Route sockets only: links, addresses and routes are all ADD needs, and without a
	// family list each handle also opens XFRM and netfilter sockets (each through a setns
	// for the container's).
	if v.ch, err = netlink.NewHandleAt(v.contNS, unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink in container netns %s: %w", opts.Netns, err)
	}
	if v.hh, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink in host netns: %w", err)
	}
	// Checked before touching the host: on a repeated ADD the host veth of this name is the
	// live one, and only the caller can tell whether that attachment is complete.
	if _, err := v.ch.LinkByName(opts.ContIfName); err == nil {
		return nil, &ErrContainerIfExists{Netns: opts.Netns, IfName: opts.ContIfName}
	}
	// A stale host veth of the same name (a container that died without DEL) is removed first,
	// as Calico does; its name is derived from this workload, so it cannot be someone else's.
	if old, err := v.hh.LinkByName(opts.HostVeth); err == nil {
		if err := v.hh.LinkDel(old); err != nil {
			return nil, fmt.Errorf("removing stale host veth %s: %w", opts.HostVeth, err)
		}
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: opts.ContIfName, MTU: opts.MTU},
		PeerName:         opts.HostVeth,
		PeerHardwareAddr: HostVethMAC,
		PeerNamespace:    netlink.NsFd(int(hostNS)),
		PeerMTU:          uint32(opts.MTU),
	}
	if err := v.ch.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("creating veth %s (container) / %s (host): %w", opts.ContIfName, opts.HostVeth, err)
	}
	v.made = true
	defer func() {
		if err != nil {
			_ = v.Remove()
		}
	}()
	if v.host, err = v.hh.LinkByName(opts.HostVeth); err != nil {
		return nil, fmt.Errorf("finding host veth %s after creating it: %w", opts.HostVeth, err)
	}
	if v.cont, err = v.ch.LinkByName(opts.ContIfName); err != nil {
		return nil, fmt.Errorf("finding %s in container: %w", opts.ContIfName, err)
	}
	v.v6 = opts.IPv6 || hasV6(opts.IPs)
	if err := v.sysctls(v.v6); err != nil {
		return nil, err
	}
	if err := v.hh.LinkSetUp(v.host); err != nil {
		return nil, fmt.Errorf("bringing up host veth %s: %w", opts.HostVeth, err)
	}
	if err := v.ch.LinkSetUp(v.cont); err != nil {
		return nil, fmt.Errorf("bringing up %s in container: %w", opts.ContIfName, err)
	}
	return v, nil
}

// sysctls writes the host veth's and the container's settings (calico-model.md §3).
func (v *Veth) sysctls(v6 bool) error {
	if err := writeSysctls(hostVethSysctls(v.opts.HostVeth, v6)); err != nil {
		return err
	}
	if err := ns.WithNetNSPath(v.opts.Netns, func(ns.NetNS) error {
		return writeSysctls(containerSysctls(v.opts.ContIfName, v6, v.opts.AllowIPForwarding))
	}); err != nil {
		return fmt.Errorf("container sysctls: %w", err)
	}
	return nil
}

// ContainerMAC is the container side's MAC address (the WorkloadEndpoint records it).
func (v *Veth) ContainerMAC() string { return v.cont.Attrs().HardwareAddr.String() }

// Finish adds the container's addresses and routes and the host routes. On failure the
// caller removes the pair (Remove), which takes every address and route with it.
func (v *Veth) Finish(ips []netip.Prefix) (*Wired, error) {
	if hasV6(ips) && !v.v6 {
		if err := v.sysctls(true); err != nil {
			return nil, err
		}
		v.v6 = true
	}
	if err := addContainerAddrsRoutes(v.ch, v.cont, ips); err != nil {
		return nil, err
	}
	if err := addHostRoutes(v.hh, v.host, ips); err != nil {
		return nil, err
	}
	return &Wired{ContainerMAC: v.cont.Attrs().HardwareAddr, HostIndex: v.host.Attrs().Index}, nil
}

// Remove deletes the pair (both ends go together, with their addresses and routes).
func (v *Veth) Remove() error {
	if !v.made {
		return nil
	}
	l := v.cont
	if l == nil {
		var err error
		if l, err = v.ch.LinkByName(v.opts.ContIfName); err != nil {
			if isNotFound(err) {
				v.made = false
				return nil
			}
			return fmt.Errorf("finding %s in container netns %s: %w", v.opts.ContIfName, v.opts.Netns, err)
		}
	}
	if err := v.ch.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting %s in container netns %s: %w", v.opts.ContIfName, v.opts.Netns, err)
	}
	v.made, v.cont = false, nil
	return nil
}

// undo is Remove as an undo step (netlink needs no deadline).
func (v *Veth) undo(context.Context) error { return v.Remove() }

// Close releases the handles; the pair stays as it is.
func (v *Veth) Close() {
	if v.ch != nil {
		v.ch.Close()
	}
	if v.hh != nil {
		v.hh.Close()
	}
	if v.contNS.IsOpen() {
		v.contNS.Close()
	}
}
