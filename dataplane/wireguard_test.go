package dataplane

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/calc"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// kernelHasWireguard probes in a scratch namespace whether a WireGuard device can be made.
func kernelHasWireguard(t *testing.T) bool {
	ns := newNS(t, "wgp")
	return exec.Command("ip", "-n", ns, "link", "add", "wgprobe", "type", "wireguard").Run() == nil
}

func wgWant() *calc.WireguardDesired {
	return &calc.WireguardDesired{Iface: "wireguard.cali", Port: 51820, MTU: 1440, FwMark: calc.WireguardFwMark,
		Table: calc.WireguardTable, RulePriority: 99, Addr: netip.MustParseAddr("10.65.0.1"),
		Peers: []calc.WireguardPeer{{Node: "n2", PublicKey: mustKey().PublicKey().String(),
			Endpoint: netip.MustParseAddrPort("10.0.1.2:51820"), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.65.1.0/26")}}},
		Routes: []netip.Prefix{netip.MustParsePrefix("10.65.1.0/26")}}
}

func mustKey() wgtypes.Key {
	k, err := wgtypes.GeneratePrivateKey()
	if err != nil {
		panic(err)
	}
	return k
}

// TestWireguardUnsupportedKernel runs where the kernel has no WireGuard (this project's CI
// machine): the apply fails with ErrWireguardUnsupported, and leaves no rule, no table
// route and no half-made device behind; the main table's routes are untouched.
func TestWireguardUnsupportedKernel(t *testing.T) {
	needRoot(t)
	if kernelHasWireguard(t) {
		t.Skip("this kernel has WireGuard; the VM suite (test/vm/scenarios/wireguard_test.go) covers it")
	}
	a, _ := hostPair(t)
	sh(t, "ip", "-n", a, "route", "add", "10.65.1.0/26", "via", "10.0.1.2", "proto", "80")
	d := newDP(t, a)
	err := d.ApplyWireguard(calc.WireguardV4, wgWant(), mustKey())
	if !errors.Is(err, ErrWireguardUnsupported) {
		t.Fatalf("apply on a kernel without WireGuard: got %v, want ErrWireguardUnsupported", err)
	}
	if !strings.Contains(err.Error(), "WireGuard unsupported by the kernel") {
		t.Errorf("error %q does not say why", err)
	}
	if out := sh(t, "ip", "-n", a, "rule", "show"); strings.Contains(out, "lookup 1 ") || strings.Contains(out, "0x200000") {
		t.Errorf("a WireGuard rule was left:\n%s", out)
	}
	if out := sh(t, "ip", "-n", a, "link", "show", "type", "wireguard"); strings.TrimSpace(out) != "" {
		t.Errorf("a device was left:\n%s", out)
	}
	if out := sh(t, "ip", "-n", a, "route", "show", "10.65.1.0/26"); !strings.Contains(out, "via 10.0.1.2") {
		t.Errorf("the main table route was touched: %q", out)
	}
	// Turning it off again on such a kernel is a no-op, not an error.
	if err := d.ApplyWireguard(calc.WireguardV4, nil, wgtypes.Key{}); err != nil {
		t.Fatalf("removing WireGuard that never ran: %v", err)
	}
}

// TestWireguardTableAndRule drives the table-1 routes and the rule on this kernel (they need
// no WireGuard; a veth stands in for the device): routes through the device and throw routes
// appear, a stale route of ours goes, a route of another protocol stays, the main table is not
// touched, there is exactly one rule at the wanted priority, and remove takes the rule away.
func TestWireguardTableAndRule(t *testing.T) {
	needRoot(t)
	a, _ := hostPair(t)
	sh(t, "ip", "-n", a, "route", "add", "10.65.1.0/26", "via", "10.0.1.2", "proto", "80")
	sh(t, "ip", "-n", a, "route", "add", "10.99.0.0/24", "dev", "eth0", "table", "1", "proto", "static")
	sh(t, "ip", "-n", a, "route", "add", "10.65.9.0/26", "dev", "eth0", "table", "1", "proto", "80")
	d := newDP(t, a)
	r := d.wg
	link, err := linkByName(d.h, "eth0")
	if err != nil || link == nil {
		t.Fatal(err)
	}
	want := wgWant()
	want.Throw = []netip.Prefix{netip.MustParsePrefix("10.65.1.7/32")}
	for round := range 2 { // the second round must find everything in place
		if err := r.syncRoutes(link.Attrs().Index, want); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := r.syncRule(want); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	tbl := sh(t, "ip", "-n", a, "route", "show", "table", "1")
	for _, w := range []string{"10.65.1.0/26 dev eth0 proto 80 scope link", "throw 10.65.1.7 proto 80", "10.99.0.0/24 dev eth0 proto static"} {
		if !strings.Contains(tbl, w) {
			t.Errorf("table 1 lacks %q:\n%s", w, tbl)
		}
	}
	if strings.Contains(tbl, "10.65.9.0") {
		t.Errorf("stale route of ours left in table 1:\n%s", tbl)
	}
	if out := sh(t, "ip", "-n", a, "route", "show", "10.65.1.0/26"); !strings.Contains(out, "via 10.0.1.2") {
		t.Errorf("main table touched: %q", out)
	}
	rules := sh(t, "ip", "-n", a, "rule", "show")
	if n := strings.Count(rules, "not from all fwmark 0x200000/0x200000 lookup 1"); n != 1 || !strings.Contains(rules, "99:\tnot from all fwmark 0x200000/0x200000 lookup 1") {
		t.Errorf("want one rule `99: not from all fwmark 0x200000/0x200000 lookup 1`, got:\n%s", rules)
	}
	want.RulePriority = 98
	if err := r.syncRule(want); err != nil {
		t.Fatal(err)
	}
	if rules := sh(t, "ip", "-n", a, "rule", "show"); strings.Count(rules, "lookup 1") != 1 || !strings.Contains(rules, "98:") {
		t.Errorf("after moving the priority:\n%s", rules)
	}
	if err := d.ApplyWireguard(calc.WireguardV4, nil, wgtypes.Key{}); err != nil {
		t.Fatal(err)
	}
	if rules := sh(t, "ip", "-n", a, "rule", "show"); strings.Contains(rules, "lookup 1") {
		t.Errorf("rule left after removal:\n%s", rules)
	}
}
