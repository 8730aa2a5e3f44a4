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
