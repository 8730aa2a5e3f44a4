package cnitest

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/cni"
	"github.com/vishvananda/netlink"
)

// The wiring in stages, as ADD uses it to overlap the kernel with etcd, and DEL's early
// return: each stage must leave the kernel in the state the next step relies on.
func TestVethStages(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)
	// Each case has its own address: a namespace deleted at the end of a case takes its veth
	// (and host route) with it only when the kernel gets round to it.
	ips := map[string]netip.Prefix{}
	addr := func(t *testing.T) netip.Prefix {
		if p, ok := ips[t.Name()]; ok {
			return p
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 244, 9, byte(len(ips) + 1)}), 32)
		ips[t.Name()] = p
		return p
	}

	t.Run("prepare then finish", func(t *testing.T) {
		cont := netnsAdd(t, "c")
		veth := "calistage" + randHex(4)
		ip := addr(t)
		v, err := cni.PrepareVeth(cni.WireOptions{Netns: "/var/run/netns/" + cont, ContIfName: "eth0", HostVeth: veth, MTU: 1400})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		// Prepared: both ends up with the MTU, no addresses or routes yet.
		if out := mustIP(t, host, "link", "show", veth); !strings.Contains(out, "mtu 1400") || !strings.Contains(out, "state UP") && !strings.Contains(out, ",UP") {
			t.Errorf("host veth after PrepareVeth: %s", out)
		}
		if out := mustIP(t, host, "route", "show", "dev", veth); strings.TrimSpace(out) != "" {
			t.Errorf("host routes before Finish: %q", out)
		}
		if _, err := v.Finish([]netip.Prefix{ip}); err != nil {
			t.Fatal(err)
		}
		if out := mustIP(t, cont, "addr", "show", "eth0"); !strings.Contains(out, ip.String()) {
			t.Errorf("container address after Finish: %s", out)
		}
		if out := mustIP(t, cont, "route"); !strings.Contains(out, "default via 169.254.1.1") {
			t.Errorf("container routes after Finish: %s", out)
		}
		if out := mustIP(t, host, "route", "show", ip.String()); !strings.Contains(out, "dev "+veth) {
			t.Errorf("host route after Finish: %q", out)
		}
		if v.ContainerMAC() == "" {
			t.Error("no container MAC")
		}
	})

	t.Run("existing interface is left alone", func(t *testing.T) {
		// A repeated ADD must not touch the live host veth of the earlier, complete ADD.
		cont := netnsAdd(t, "c")
		veth := "calistage" + randHex(4)
		ip := addr(t)
		if _, err := cni.Wire(cni.WireOptions{Netns: "/var/run/netns/" + cont, ContIfName: "eth0", HostVeth: veth, MTU: 1400, IPs: []netip.Prefix{ip}}); err != nil {
			t.Fatal(err)
		}
		before := mustIP(t, host, "-o", "link", "show", veth)
		_, err := cni.PrepareVeth(cni.WireOptions{Netns: "/var/run/netns/" + cont, ContIfName: "eth0", HostVeth: veth, MTU: 1400})
		var exists *cni.ErrContainerIfExists
		if !errors.As(err, &exists) {
			t.Fatalf("want ErrContainerIfExists, got %v", err)
		}
		if after := mustIP(t, host, "-o", "link", "show", veth); after != before {
			t.Errorf("host veth changed:\nbefore %s\nafter  %s", before, after)
		}
		if out := mustIP(t, host, "route", "show", ip.String()); !strings.Contains(out, "dev "+veth) {
			t.Errorf("host route lost: %q", out)
		}
		if err := cni.Unwire("/var/run/netns/"+cont, "eth0", veth); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("StartUnwire returns with the pair and its routes gone", func(t *testing.T) {
		cont := netnsAdd(t, "c")
		veth := "calistage" + randHex(4)
		ip := addr(t)
		if _, err := cni.Wire(cni.WireOptions{Netns: "/var/run/netns/" + cont, ContIfName: "eth0", HostVeth: veth, MTU: 1400, IPs: []netip.Prefix{ip}}); err != nil {
			t.Fatal(err)
		}
		u, err := cni.StartUnwire("/var/run/netns/"+cont, "eth0")
		if err != nil {
			t.Fatal(err)
		}
		// Checked through netlink at once, before Wait: DEL releases the address here.
		if _, err := netlink.LinkByName(veth); err == nil {
			t.Errorf("host veth %s still listed when StartUnwire returned", veth)
		}
		routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: &net.IPNet{IP: ip.Addr().AsSlice(), Mask: net.CIDRMask(32, 32)}}, netlink.RT_FILTER_DST)
		if err != nil {
			t.Fatal(err)
		}
		if len(routes) != 0 {
			t.Errorf("host route to %s still present when StartUnwire returned: %v", ip, routes)
		}
		if err := u.Wait(); err != nil {
			t.Fatal(err)
		}
		if err := u.Wait(); err != nil {
			t.Fatalf("second Wait: %v", err)
		}
		if out := mustIP(t, cont, "link", "show"); strings.Contains(out, "eth0") {
			t.Errorf("eth0 left in the container: %s", out)
		}
		// Idempotent: nothing left to delete, and a namespace that is gone.
		if err := cni.Unwire("/var/run/netns/"+cont, "eth0", veth); err != nil {
			t.Errorf("second Unwire: %v", err)
		}
		if err := cni.Unwire("/var/run/netns/bcni-missing-"+randHex(6), "eth0", veth); err != nil {
			t.Errorf("Unwire of a missing netns: %v", err)
		}
		// What a runtime's netns path is once unmounted: an empty file, not a namespace.
		stale := filepath.Join(t.TempDir(), "netns")
		if err := os.WriteFile(stale, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := cni.Unwire(stale, "eth0", veth); err != nil {
			t.Errorf("Unwire of an unmounted netns path: %v", err)
		}
	})
}
