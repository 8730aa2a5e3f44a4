package node

import (
	"context"
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// Registration writes bgp.ipv6Address when one is given (--ip6 or autodetect) and, as
// Calico with IP6=none, leaves an existing one alone when none is.
func TestRegisterIPv6Address(t *testing.T) {
	_, st := datastore.StartTest(t)
	ctx := context.Background()
	v4, v6 := netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fd00:1::1/64")
	get := func() *api.NodeBGPSpec {
		t.Helper()
		n, err := store.GetAs[*api.Node](ctx, st, "", "n1")
		if err != nil {
			t.Fatal(err)
		}
		return n.Spec.BGP
	}
	if _, err := register(ctx, st, "n1", v4, v6, 0); err != nil {
		t.Fatal(err)
	}
	if b := get(); b.IPv4Address != "10.0.0.1/24" || b.IPv6Address != "fd00:1::1/64" {
		t.Errorf("new node: %+v", b)
	}
	if _, err := register(ctx, st, "n1", v4, netip.Prefix{}, 0); err != nil {
		t.Fatal(err)
	}
	if b := get(); b.IPv6Address != "fd00:1::1/64" {
		t.Errorf("IP6=none dropped the address: %+v", b)
	}
	if _, err := register(ctx, st, "n1", v4, netip.MustParsePrefix("fd00:2::1/64"), 0); err != nil {
		t.Fatal(err)
	}
	if b := get(); b.IPv6Address != "fd00:2::1/64" || b.IPv4Address != "10.0.0.1/24" {
		t.Errorf("changed IPv6 address: %+v", b)
	}
	if c := calcNode(&api.Node{ObjectMeta: api.ObjectMeta{Name: "n1"}, Spec: api.NodeSpec{BGP: get()}}); c.IPv6 != netip.MustParsePrefix("fd00:2::1/64") {
		t.Errorf("calc node %+v", c)
	}
}
