package node

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	ifaces := []Interface{
		{Name: "lo", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "docker0", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("172.17.0.1/16")}},
		{Name: "cali1234", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.244.0.1/32")}},
		{Name: "eth0", Up: false, Addrs: []netip.Prefix{netip.MustParsePrefix("192.168.9.9/24")}},
		{Name: "ens192", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("fe80::1/64"), netip.MustParsePrefix("100.100.137.202/24")}},
		{Name: "ens224", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.10.0.5/16")}},
	}
	route := func(dst netip.Addr) (netip.Addr, error) {
		if dst == netip.MustParseAddr("10.10.9.9") {
			return netip.MustParseAddr("10.10.0.5"), nil
		}
		return netip.Addr{}, errors.New("unreachable")
	}
	cases := []struct{ method, want, err string }{
		{"first-found", "100.100.137.202/24", ""},
		{"", "100.100.137.202/24", ""},
		{"interface=ens1.*", "100.100.137.202/24", ""},
		{"interface=ens224", "10.10.0.5/16", ""},
		{"skip-interface=ens192", "10.10.0.5/16", ""},
		{"cidr=10.10.0.0/16", "10.10.0.5/16", ""},
		{"cidr=10.0.0.0/8, 100.64.0.0/10", "100.100.137.202/24", ""},
		{"can-reach=10.10.9.9", "10.10.0.5/16", ""},
		{"can-reach=192.0.2.1", "", "no route"},
		{"interface=nope", "", "no usable"},
		{"cidr=banana", "", "not a CIDR"},
		{"magic", "", "unknown"},
		{"interface=(", "", "missing closing"},
	}
	for _, c := range cases {
		got, err := Detect(c.method, ifaces, route)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: want error containing %q, got %v (%v)", c.method, c.err, err, got)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("%q: got %v, %v; want %s", c.method, got, err, c.want)
		}
	}
}

// IP6_AUTODETECTION_METHOD takes the same methods; only global IPv6 addresses count.
func TestDetectIPv6(t *testing.T) {
	ifaces := []Interface{
		{Name: "lo", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("::1/128")}},
		{Name: "cali1234", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("fd00:10::1/128")}},
		{Name: "ens192", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("fe80::1/64"), netip.MustParsePrefix("10.0.0.5/24")}},
		{Name: "ens224", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("10.10.0.5/16"), netip.MustParsePrefix("fd00:1::5/64")}},
		{Name: "ens256", Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("2001:db8:2::5/64")}},
	}
	route := func(dst netip.Addr) (netip.Addr, error) {
		if dst == netip.MustParseAddr("2001:db8:2::99") {
			return netip.MustParseAddr("2001:db8:2::5"), nil
		}
		return netip.Addr{}, errors.New("unreachable")
	}
	cases := []struct{ method, want, err string }{
		{"first-found", "fd00:1::5/64", ""},
		{"interface=ens2.*", "fd00:1::5/64", ""},
		{"interface=ens192", "", "no usable"},
		{"skip-interface=ens224", "2001:db8:2::5/64", ""},
		{"cidr=2001:db8::/32", "2001:db8:2::5/64", ""},
		{"can-reach=2001:db8:2::99", "2001:db8:2::5/64", ""},
		{"can-reach=10.10.9.9", "", "not an IPv6 address"},
	}
	for _, c := range cases {
		got, err := DetectVersion(c.method, 6, ifaces, route)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: want error containing %q, got %v (%v)", c.method, c.err, err, got)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("%q: got %v, %v; want %s", c.method, got, err, c.want)
		}
	}
	// IPv4 detection is not confused by IPv6 addresses first on an interface.
	if got, err := Detect("interface=ens224", ifaces, route); err != nil || got.String() != "10.10.0.5/16" {
		t.Errorf("IPv4 on a dual-stack interface: %v, %v", got, err)
	}
}
