package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// A /28 pool with /30 blocks: four blocks of four addresses, small enough to fill.
func smallPool(t *testing.T) (*Allocator, *store.Client) {
	a, c := setup(t)
	mkPool(t, c, "small", "10.9.0.0/28", 30, "")
	mkNode(t, c, "ha", "")
	mkNode(t, c, "hb", "")
	return a, c
}

func TestBorrowingWhenPoolHasNoFreeBlock(t *testing.T) {
	a, _ := smallPool(t)
	ctx := ctxT(t)
	got := assign(t, a, "ha", "ha.1", 16) // ha claims all four blocks
	seen := map[netip.Addr]bool{}
	for _, p := range got {
		if seen[p.Addr()] || p.Bits() != 30 {
			t.Fatalf("duplicate or badly masked %s", p)
		}
		seen[p.Addr()] = true
	}
	_, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "hb.1", Hostname: "hb"})
	var ex *ExhaustedError
	if !errors.As(err, &ex) || !strings.Contains(err.Error(), "pool small (10.9.0.0/28): 16 of 16 in use") {
		t.Fatalf("want an exhaustion error naming the pool and its usage, got %v", err)
	}
	if _, err := a.ReleaseIPs(ctx, ReleaseOptions{Address: mustAddr("10.9.0.5"), Handle: "ha.1"}); err != nil {
		t.Fatal(err)
	}
	v4 := assign(t, a, "hb", "hb.1", 1)
	if v4[0].Addr() != mustAddr("10.9.0.5") {
		t.Fatalf("hb should borrow the freed 10.9.0.5 from ha's block, got %s", v4[0])
	}
	info, err := a.LookupIP(ctx, mustAddr("10.9.0.5"))
	if err != nil || info.Handle != "hb.1" || info.Block != "10.9.0.4/30" || info.Attrs[AttrNode] != "hb" {
		t.Fatalf("LookupIP: %+v %v", info, err)
	}
	checkClean(t, a)
}

func TestStrictAffinityRefusesToBorrow(t *testing.T) {
	a, _ := smallPool(t)
	ctx := ctxT(t)
	tr := true
	if _, err := a.Configure(ctx, ConfigChange{StrictAffinity: &tr}); err != nil {
		t.Fatal(err)
	}
	assign(t, a, "ha", "ha.1", 15)
	_, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "hb.1", Hostname: "hb"})
	if err == nil || !strings.Contains(err.Error(), "strict affinity") {
		t.Fatalf("want a strict-affinity exhaustion error, got %v", err)
	}
	// ha itself still gets its last address.
	assign(t, a, "ha", "ha.2", 1)
}

func TestBlockLimitIsAllOrNothing(t *testing.T) {
	a, c := smallPool(t)
	ctx := ctxT(t)
	tr, two := true, 2
	if _, err := a.Configure(ctx, ConfigChange{MaxBlocksPerHost: &two}); err == nil {
		t.Fatal("a block limit without strict affinity must be refused")
	}
	cfg, err := a.Configure(ctx, ConfigChange{StrictAffinity: &tr, MaxBlocksPerHost: &two})
	if err != nil || rawGet(t, c, store.IPAMConfigKey) != `{"strict_affinity":true,"auto_allocate_blocks":true,"maxBlocksPerHost":2}` {
		t.Fatalf("config %+v %v: %s", cfg, err, rawGet(t, c, store.IPAMConfigKey))
	}
	_, _, err = a.AutoAssign(ctx, AutoAssignArgs{Num4: 9, HandleID: "ha.big", Hostname: "ha"})
	if err == nil || !strings.Contains(err.Error(), ErrBlockLimit.Error()) {
		t.Fatalf("want block limit error, got %v", err)
	}
	if ips, _ := a.IPsByHandle(ctx, "ha.big"); len(ips) != 0 {
		t.Fatalf("failed request left %v allocated", ips)
	}
	assign(t, a, "ha", "ha.ok", 8)
	checkClean(t, a)
}

func TestPoolSelection(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "pa", "10.1.0.0/16", 26, `"nodeSelector":"zone == 'a'"`)
	mkPool(t, c, "pb", "10.2.0.0/16", 26, `"nodeSelector":"zone == 'b'"`)
	mkPool(t, c, "tun", "10.3.0.0/16", 26, `"allowedUses":["Tunnel"]`)
	mkPool(t, c, "off", "10.4.0.0/16", 26, `"disabled":true`)
	mkPool(t, c, "man", "10.5.0.0/16", 26, `"assignmentMode":"Manual"`)
	mkNode(t, c, "na", `{"zone":"a"}`)
	mkNode(t, c, "nb", `{"zone":"b"}`)
	ctx := ctxT(t)
	in := func(p netip.Prefix, cidr string) bool { return netip.MustParsePrefix(cidr).Contains(p.Addr()) }
	if v := assign(t, a, "na", "w.a", 1); !in(v[0], "10.1.0.0/16") {
		t.Errorf("na got %s, want from pool pa", v[0])
	}
	if v := assign(t, a, "nb", "w.b", 1); !in(v[0], "10.2.0.0/16") {
		t.Errorf("nb got %s, want from pool pb", v[0])
	}
	v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "t.a", Hostname: "na", IntendedUse: UseTunnel})
	if err != nil || !in(v4[0], "10.3.0.0/16") && !in(v4[0], "10.1.0.0/16") {
		t.Errorf("tunnel for na: %v %v", v4, err)
	}
	v4, _, err = a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "m.a", Hostname: "na", IPv4Pools: []string{"man"}})
	if err != nil || !in(v4[0], "10.5.0.0/16") {
		t.Errorf("requested manual pool: %v %v", v4, err)
	}
	for _, bad := range []AutoAssignArgs{
		{Num4: 1, HandleID: "x", Hostname: "na", IPv4Pools: []string{"off"}},
		{Num4: 1, HandleID: "x", Hostname: "na", IPv4Pools: []string{"tun"}},
		{Num4: 1, HandleID: "x", Hostname: "na", IPv4Pools: []string{"nope"}},
		{Num4: 1, HandleID: "x", Hostname: ""},
		{Num4: 1, HandleID: "x", Hostname: "na", IntendedUse: "Party"},
	} {
		if _, _, err := a.AutoAssign(ctx, bad); err == nil {
			t.Errorf("AutoAssign(%+v) should fail", bad)
		} else {
			t.Logf("AutoAssign(%+v): %v", bad, err)
		}
	}
	// A node no pool selects gets a clear error.
	mkNode(t, c, "nc", `{"zone":"c"}`)
	if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "w.c", Hostname: "nc"}); err == nil || !strings.Contains(err.Error(), "no configured Calico pools") {
		t.Errorf("nc: %v", err)
	}
}

func TestIPv6AndDualStackRollback(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "v4", "10.20.0.0/24", 26, "")
	mkNode(t, c, "n1", "")
	ctx := ctxT(t)
	// No IPv6 pool yet: the whole request fails and the IPv4 address is given back.
	if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, Num6: 1, HandleID: "ds.1", Hostname: "n1"}); err == nil {
		t.Fatal("want an error without an IPv6 pool")
	}
	if ips, _ := a.IPsByHandle(ctx, "ds.1"); len(ips) != 0 {
		t.Fatalf("rollback left %v", ips)
	}
	mkPool(t, c, "v6", "fd00:10::/120", 122, "")
	v4, v6, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, Num6: 2, HandleID: "ds.2", Hostname: "n1"})
	if err != nil || len(v4) != 1 || len(v6) != 2 {
		t.Fatalf("dual stack: %v %v %v", v4, v6, err)
	}
	if v6[0].Bits() != 122 || v6[0].Addr() != v6[0].Masked().Addr() || v6[1].Addr() != v6[0].Addr().Next() {
		t.Fatalf("IPv6 order: %v", v6)
	}
	if _, err := c.GetKV(ctx, store.AffinityKey("n1", v6[0].Masked().String())); err != nil {
		t.Fatalf("IPv6 affinity: %v", err)
	}
	ips, err := a.IPsByHandle(ctx, "ds.2")
	if err != nil || len(ips) != 3 {
		t.Fatalf("IPsByHandle: %v %v", ips, err)
	}
	if err := a.ReleaseByHandle(ctx, "ds.2"); err != nil {
		t.Fatal(err)
	}
	checkClean(t, a)
}

func TestAssignIPAndReservations(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "p", "10.30.0.0/24", 28, "")
	mkNode(t, c, "n1", "")
	create(t, c, "IPReservation", `{"metadata":{"name":"r"},"spec":{"reservedCIDRs":["10.30.0.0/30","10.30.0.20"]}}`)
	ctx := ctxT(t)
	if err := a.AssignIP(ctx, AssignIPArgs{IP: mustAddr("10.30.0.21"), HandleID: "fixed", Hostname: "n1"}); err != nil {
		t.Fatal(err)
	}
	var inUse *InUseError
	if err := a.AssignIP(ctx, AssignIPArgs{IP: mustAddr("10.30.0.21"), HandleID: "other", Hostname: "n1"}); !errors.As(err, &inUse) || inUse.Handle != "fixed" {
		t.Fatalf("taken address: %v", err)
	}
	if err := a.AssignIP(ctx, AssignIPArgs{IP: mustAddr("10.30.0.20"), HandleID: "other", Hostname: "n1"}); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("reserved address: %v", err)
	}
	if err := a.AssignIP(ctx, AssignIPArgs{IP: mustAddr("10.31.0.1"), HandleID: "other", Hostname: "n1"}); err == nil || !strings.Contains(err.Error(), "not in any configured IP pool") {
		t.Fatalf("outside pools: %v", err)
	}
	// The AssignIP claimed 10.30.0.16/28 for n1; auto-assign skips the reserved 10.30.0.20.
	got := assign(t, a, "n1", "auto", 5)
	want := []string{"10.30.0.16", "10.30.0.17", "10.30.0.18", "10.30.0.19", "10.30.0.22"}
	for i, p := range got {
		if p.Addr().String() != want[i] {
			t.Fatalf("auto-assign got %v, want %v", got, want)
		}
	}
	// A fresh block at .0 skips the reserved .0-.3 as well.
	if err := a.AssignIP(ctx, AssignIPArgs{IP: mustAddr("10.30.0.9"), HandleID: "fixed2", Hostname: "n1"}); err != nil {
		t.Fatal(err)
	}
	checkClean(t, a)
}

func TestReleasePaths(t *testing.T) {
	a, c := smallPool(t)
	ctx := ctxT(t)
	v := assign(t, a, "ha", "h.1", 2)
	// Wrong handle or sequence number: nothing is freed.
	skipped, err := a.ReleaseIPs(ctx, ReleaseOptions{Address: v[0].Addr(), Handle: "someone-else"})
	if err != nil || len(skipped) != 1 {
		t.Fatalf("guarded release: %v %v", skipped, err)
	}
	bad := uint64(1)
	if skipped, err = a.ReleaseIPs(ctx, ReleaseOptions{Address: v[0].Addr(), SequenceNumber: &bad}); err != nil || len(skipped) != 1 {
		t.Fatalf("seq-guarded release: %v %v", skipped, err)
	}
	info, _ := a.LookupIP(ctx, v[0].Addr())
	if !info.Allocated {
		t.Fatal("guarded release freed the address")
	}
	if skipped, err = a.ReleaseIPs(ctx, ReleaseOptions{Address: v[0].Addr()}, ReleaseOptions{Address: mustAddr("10.9.0.14")}, ReleaseOptions{Address: mustAddr("192.0.2.1")}); err != nil || len(skipped) != 2 {
		t.Fatalf("release: skipped %v err %v", skipped, err)
	}
	if got := rawGet(t, c, store.HandleKey("h.1")); !strings.Contains(got, `:1}`) {
		t.Fatalf("handle after releasing one of two: %s", got)
	}
	if err := a.ReleaseByHandle(ctx, "h.1"); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseByHandle(ctx, "h.1"); err != nil {
		t.Fatalf("second release of a gone handle must succeed: %v", err)
	}
	// Affinity release: an empty block is deleted, a used one is left unaffined and is
	// deleted once its last address goes.
	assign(t, a, "ha", "h.2", 5) // two blocks: one full, one with one address
	if err := a.ReleaseHostAffinities(ctx, "ha"); err != nil {
		t.Fatal(err)
	}
	kvs, _, _ := c.ListKV(ctx, store.AffinityPrefix("ha", ""))
	if len(kvs) != 0 {
		t.Fatalf("affinities left: %d", len(kvs))
	}
	u, _ := a.Usage(ctx)
	if len(u.Blocks) != 2 {
		t.Fatalf("blocks after affinity release: %+v", u.Blocks)
	}
	for _, b := range u.Blocks {
		if b.Affinity != "" {
			t.Fatalf("block %s still affine to %s", b.CIDR, b.Affinity)
		}
	}
	if err := a.ReleaseByHandle(ctx, "h.2"); err != nil {
		t.Fatal(err)
	}
	if u, _ = a.Usage(ctx); len(u.Blocks) != 0 {
		t.Fatalf("empty unaffined blocks should be deleted: %+v", u.Blocks)
	}
	checkClean(t, a)
}
