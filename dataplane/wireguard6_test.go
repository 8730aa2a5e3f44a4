package dataplane

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/calc"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

func wgWant6() *calc.WireguardDesired {
	pfx := netip.MustParsePrefix
	return &calc.WireguardDesired{IPv6: true, Iface: "wg-v6.cali", Port: 51821, MTU: 1420, FwMark: calc.WireguardFwMark,
		Table: calc.WireguardTableV6, RulePriority: 99, Addr: netip.MustParseAddr("fd00::1"),
		Peers: []calc.WireguardPeer{{Node: "n2", PublicKey: mustKey().PublicKey().String(),
			Endpoint: netip.MustParseAddrPort("[fc00::2]:51821"), AllowedIPs: []netip.Prefix{pfx("fd00::40/122")}}},
		Routes: []netip.Prefix{pfx("fd00::40/122")}, Throw: []netip.Prefix{pfx("fd00::41/128")}}
}

// TestWireguardV6UnsupportedKernel: the IPv6 device fails like the IPv4 one on a kernel
// without WireGuard, leaving no IPv6 rule and no device.
func TestWireguardV6UnsupportedKernel(t *testing.T) {
	needRoot(t)
	if kernelHasWireguard(t) {
		t.Skip("this kernel has WireGuard; the VM suite covers it")
	}
	a, _ := hostPair(t)
	d := newDP(t, a)
	if err := d.ApplyWireguard(calc.WireguardV6, wgWant6(), mustKey()); !errors.Is(err, ErrWireguardUnsupported) || !strings.Contains(err.Error(), "wg-v6.cali") {
		t.Fatalf("apply on a kernel without WireGuard: got %v, want ErrWireguardUnsupported naming wg-v6.cali", err)
	}
	if out := sh(t, "ip", "-n", a, "-6", "rule", "show"); strings.Contains(out, "0x200000") {
		t.Errorf("an IPv6 WireGuard rule was left:\n%s", out)
	}
	if out := sh(t, "ip", "-n", a, "link", "show", "type", "wireguard"); strings.TrimSpace(out) != "" {
		t.Errorf("a device was left:\n%s", out)
	}
	if err := d.ApplyWireguard(calc.WireguardV6, nil, wgtypes.Key{}); err != nil {
		t.Fatalf("removing WireGuard that never ran: %v", err)
	}
}

// TestWireguardV6TableAndRule: the IPv6 device's routes go to table 2 with an IPv6 rule
// (felix's second table index), and neither family's rule or routes disturb the other's.
func TestWireguardV6TableAndRule(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	d := newDP(t, a)
	link, err := linkByName(d.h, "eth0")
	if err != nil || link == nil {
		t.Fatal(err)
	}
	want4, want6 := wgWant(), wgWant6()
	for round := range 2 {
		for _, x := range []struct {
			r *wireguardRec
			w *calc.WireguardDesired
		}{{d.wg, want4}, {d.wg6, want6}} {
			if err := x.r.syncRoutes(link.Attrs().Index, x.w); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if err := x.r.syncRule(x.w); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	tbl := sh(t, "ip", "-n", a, "-6", "route", "show", "table", "2")
	for _, w := range []string{"fd00::40/122 dev eth0 proto 80", "throw fd00::41 "} {
		if !strings.Contains(tbl, w) {
			t.Errorf("table 2 lacks %q:\n%s", w, tbl)
		}
	}
	if tbl := sh(t, "ip", "-n", a, "route", "show", "table", "1"); !strings.Contains(tbl, "10.65.1.0/26 dev eth0") {
		t.Errorf("the IPv4 table lost its route:\n%s", tbl)
	}
	rules6 := sh(t, "ip", "-n", a, "-6", "rule", "show")
	if n := strings.Count(rules6, "99:\tnot from all fwmark 0x200000/0x200000 lookup 2"); n != 1 {
		t.Errorf("want one IPv6 rule `99: not from all fwmark 0x200000/0x200000 lookup 2`, got:\n%s", rules6)
	}
	if err := d.WithdrawWireguard(calc.WireguardV6); err != nil {
		t.Fatal(err)
	}
	if rules6 := sh(t, "ip", "-n", a, "-6", "rule", "show"); strings.Contains(rules6, "lookup 2") {
		t.Errorf("IPv6 rule left after withdrawing:\n%s", rules6)
	}
	if rules := sh(t, "ip", "-n", a, "rule", "show"); !strings.Contains(rules, "not from all fwmark 0x200000/0x200000 lookup 1") {
		t.Errorf("withdrawing IPv6 took the IPv4 rule:\n%s", rules)
	}
}
