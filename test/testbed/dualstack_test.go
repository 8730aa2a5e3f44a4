package testbed

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// A dual-stack bed: every host has an IPv6 address with its IPv4 host number, reaches the
// others over IPv6 on its subnet and across the router, and has no IPv6 default route.
func TestDualStackBed(t *testing.T) {
	RequireRoot(t)
	b := Start(t, Options{
		Prefix:   "btb-",
		Subnets:  []netip.Prefix{netip.MustParsePrefix("172.30.1.0/24"), netip.MustParsePrefix("172.30.2.0/24")},
		Subnets6: []netip.Prefix{netip.MustParsePrefix("fd00:30:1::/64"), netip.MustParsePrefix("fd00:30:2::/64")},
		Hosts:    []HostOptions{{Name: "a"}, {Name: "b"}, {Name: "c", Subnet: 1}},
	})
	want := map[string]string{"a": "fd00:30:1::b/64", "b": "fd00:30:1::c/64", "c": "fd00:30:2::b/64"}
	for _, h := range b.Hosts {
		if h.Addr6.String() != want[h.HostName] {
			t.Errorf("host %s: IPv6 address %s, want %s", h.HostName, h.Addr6, want[h.HostName])
		}
		routes, err := h.NL.RouteList(nil, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				t.Errorf("host %s has an IPv6 default route: %v", h.HostName, r)
			}
		}
	}
	a, c := b.Host("a"), b.Host("c")
	for _, tc := range []struct {
		from *Host
		to   netip.Addr
	}{{a, b.Host("b").Addr6.Addr()}, {a, c.Addr6.Addr()}, {c, a.Addr6.Addr()}, {c, b.RouterAddr6(0)}} {
		if got, err := Ping(tc.from.Netns, tc.to, 2, time.Second); err != nil || got != 2 {
			t.Errorf("ping %s -> %s: %d/2 replies, err %v", tc.from.HostName, tc.to, got, err)
		}
	}
	if _, err := New(Options{Prefix: "btb-", Subnets: b.Subnets, Subnets6: b.Subnets6[:1]}); err == nil {
		t.Error("one IPv6 prefix for two subnets was accepted")
	}
}
