package cni

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// WireHostPair creates a workload veth with both ends in the calling thread's namespace, for
// runtimes that move the container end into the sandbox themselves (Docker's remote driver
// Join returns its name; Docker moves, renames and addresses it). The host end gets what the
// CNI path gives it: Calico's fixed MAC, the MTU, the same sysctls, up, and the /32 (/128)
// host routes. The container end's MAC is returned for the endpoint record. On failure
// nothing is left behind.
func WireHostPair(hostVeth, contSide string, mtu int, ips []netip.Prefix) (mac string, err error) {
	hh, err := netlink.NewHandle()
	if err != nil {
		return "", fmt.Errorf("netlink in host netns: %w", err)
	}
	defer hh.Close()
	// A stale pair of the same name (a plugin that died mid-way) is replaced, as PrepareVeth does.
	if old, err := hh.LinkByName(hostVeth); err == nil {
		if err := hh.LinkDel(old); err != nil {
			return "", fmt.Errorf("removing stale host veth %s: %w", hostVeth, err)
		}
	}
	if old, err := hh.LinkByName(contSide); err == nil {
		_ = hh.LinkDel(old)
	}
	veth := &netlink.Veth{
		LinkAttrs:        netlink.LinkAttrs{Name: contSide, MTU: mtu},
		PeerName:         hostVeth,
		PeerHardwareAddr: HostVethMAC,
		PeerMTU:          uint32(mtu),
	}
	if err := hh.LinkAdd(veth); err != nil {
		return "", fmt.Errorf("creating veth %s / %s: %w", contSide, hostVeth, err)
	}
	defer func() {
		if err != nil {
			_ = RemoveHostVeth(hostVeth)
		}
	}()
	host, err := hh.LinkByName(hostVeth)
	if err != nil {
		return "", fmt.Errorf("finding host veth %s after creating it: %w", hostVeth, err)
	}
	cont, err := hh.LinkByName(contSide)
	if err != nil {
		return "", fmt.Errorf("finding %s after creating it: %w", contSide, err)
	}
	if err := writeSysctls(hostVethSysctls(hostVeth, hasV6(ips))); err != nil {
		return "", err
	}
	if err := hh.LinkSetUp(host); err != nil {
		return "", fmt.Errorf("bringing up host veth %s: %w", hostVeth, err)
	}
	if err := addHostRoutes(hh, host, ips); err != nil {
		return "", err
	}
	return cont.Attrs().HardwareAddr.String(), nil
}

// RemoveHostVeth deletes a host veth (its peer, wherever it is, goes with it, and so do its
// routes); a missing one is success.
func RemoveHostVeth(hostVeth string) error {
	l, err := netlink.LinkByName(hostVeth)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("finding host veth %s: %w", hostVeth, err)
	}
	if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("deleting host veth %s: %w", hostVeth, err)
	}
	return nil
}
