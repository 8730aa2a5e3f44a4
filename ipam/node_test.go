package ipam

import (
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
)

func TestReleaseNodeFreesOnlyThatNode(t *testing.T) {
	a, c := setup(t)
	ctx := ctxT(t)
	mkPool(t, c, "p", "10.7.0.0/24", 28, `"vxlanMode":"Always"`)
	mkNode(t, c, "gone", "")
	mkNode(t, c, "stays", "")
	goneIPs := assign(t, a, "gone", "net.c1", 2)
	keep := assign(t, a, "stays", "net.c2", 1)
	tun, err := a.EnsureTunnelAddress(ctx, "gone", VXLAN)
	if err != nil || !tun.IsValid() {
		t.Fatalf("tunnel address: %v %v", tun, err)
	}
	if _, err := c.Delete(ctx, "Node", "", "gone", ""); err != nil {
		t.Fatal(err)
	}
	released, err := a.ReleaseNode(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if len(released) != 3 {
		t.Fatalf("released %v, want the two workload addresses and the tunnel address", released)
	}
	for _, p := range goneIPs {
		if info, err := a.LookupIP(ctx, p.Addr()); err == nil && info.Handle != "" {
			t.Errorf("%s still held by %q", p.Addr(), info.Handle)
		}
	}
	if info, err := a.LookupIP(ctx, keep[0].Addr()); err != nil || info.Handle != "net.c2" {
		t.Errorf("the other node's address was touched: %+v %v", info, err)
	}
	kvs, _, err := c.ListKV(ctx, store.AffinityPrefix("gone", ""))
	if err != nil || len(kvs) != 0 {
		t.Errorf("affinities of the removed node remain: %d (%v)", len(kvs), err)
	}
	hkvs, _, _ := c.ListKV(ctx, store.HandleKey(""))
	for _, kv := range hkvs {
		if strings.Contains(kv.Key, "gone") || strings.HasSuffix(kv.Key, "net.c1") {
			t.Errorf("handle left behind: %s", kv.Key)
		}
	}
	checkClean(t, a)
}

// A pool deleted and recreated with another blockSize leaves blocks of the old size behind;
// new blocks must not overlap them.
func TestNewBlocksAvoidBlocksOfAnotherSize(t *testing.T) {
	a, c := setup(t)
	ctx := ctxT(t)
	mkPool(t, c, "p", "10.8.0.0/26", 27, "")
	mkNode(t, c, "old", "")
	for i := 0; i < 2; i++ { // both /27 blocks of the /26
		assign(t, a, "old", "net.old"+itoa(i), 32)
	}
	if _, err := c.Delete(ctx, "IPPool", "", "p", ""); err != nil {
		t.Fatal(err)
	}
	mkPool(t, c, "p", "10.8.0.0/26", 28, "")
	mkNode(t, c, "new", "")
	if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "net.new", Hostname: "new"}); err == nil {
		t.Fatal("allocated a /28 block inside the old /27 blocks")
	}
	kvs, _, _ := c.ListKV(ctx, store.BlockPrefix("ipv4"))
	if len(kvs) != 2 {
		t.Fatalf("blocks after the refused claim: %d, want the 2 old ones", len(kvs))
	}
}
