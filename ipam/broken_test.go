package ipam

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// Broken IPAM records (a hand-written etcdctl value) must not fail every allocation or every
// release on a host (issue 10 item 3): the allocator steps around a block it cannot read,
// rebuilds a handle it cannot read from the blocks, and skips broken pools, config, node
// and reservations.

func putRaw(t *testing.T, c *store.Client, key, value string) {
	t.Helper()
	if _, err := c.PutKV(ctxT(t), key, []byte(value)); err != nil {
		t.Fatal(err)
	}
}

func TestAssignStepsAroundBrokenRecords(t *testing.T) {
	// Each case is one broken record; the allocation must still succeed from the pool.
	cases := map[string]map[string]string{
		// A confirmed affinity of h1 whose block value is garbage, at the pool's first block.
		"affine block": {
			store.AffinityKey("h1", "10.50.0.0/26"): `{"state":"confirmed"}`,
			store.BlockKey("10.50.0.0/26"):          `{"cidr":"10.50.0.0/26","allocations":[`,
		},
		"affinity":       {store.AffinityKey("h1", "10.50.0.0/26"): "{"},
		"pool":           {store.ResourcePrefix + "ippools/junk": "junk"},
		"unusable pool":  {store.ResourcePrefix + "ippools/badsize": `{"metadata":{"name":"badsize"},"spec":{"cidr":"10.60.0.0/24","blockSize":8}}`},
		"reservation":    {store.ResourcePrefix + "ipreservations/junk": "{"},
		"ipam config":    {store.IPAMConfigKey: "]"},
		"node":           {store.ResourcePrefix + "nodes/h1": "]"},
		"request handle": {store.HandleKey("h-own"): "xx"},
		"other block":    {store.BlockKey("10.50.0.192/26"): "xx"},
		"other handle":   {store.HandleKey("h-other"): "xx"},
	}
	for name, records := range cases {
		t.Run(name, func(t *testing.T) {
			a, c := setup(t)
			ctx := ctxT(t)
			mkPool(t, c, "p", "10.50.0.0/24", 26, "")
			if _, ok := records[store.ResourcePrefix+"nodes/h1"]; !ok {
				mkNode(t, c, "h1", "")
			}
			for k, v := range records {
				putRaw(t, c, k, v)
			}
			v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 2, HandleID: "h-own", Hostname: "h1"})
			if err != nil {
				t.Fatalf("AutoAssign: %v", err)
			}
			if len(v4) != 2 || !netip.MustParsePrefix("10.50.0.0/24").Contains(v4[0].Addr()) {
				t.Fatalf("want 2 addresses from the pool, got %v", v4)
			}
			if _, broken := records[store.BlockKey("10.50.0.0/26")]; broken && netip.MustParsePrefix("10.50.0.0/26").Contains(v4[0].Addr()) {
				t.Fatalf("allocated %v from a block that does not decode", v4)
			}
			if ips, err := a.IPsByHandle(ctx, "h-own"); err != nil || len(ips) != 2 {
				t.Fatalf("the handle should count the new addresses: %v %v", ips, err)
			}
		})
	}
}

func TestReleaseByBrokenHandleFindsAddressesInBlocks(t *testing.T) {
	a, c := setup(t)
	ctx := ctxT(t)
	mkPool(t, c, "p", "10.51.0.0/24", 26, "")
	mkNode(t, c, "h1", "")
	v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 3, HandleID: "h-del", Hostname: "h1"})
	if err != nil || len(v4) != 3 {
		t.Fatalf("AutoAssign: %v %v", v4, err)
	}
	putRaw(t, c, store.HandleKey("h-del"), "{")
	if err := a.ReleaseByHandle(ctx, "h-del"); err != nil {
		t.Fatalf("ReleaseByHandle of a broken handle: %v", err)
	}
	if _, err := c.GetKV(ctx, store.HandleKey("h-del")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("broken handle still stored: %v", err)
	}
	if ips, err := a.IPsByHandle(ctx, "h-del"); err != nil || len(ips) != 0 {
		t.Fatalf("addresses left: %v %v", ips, err)
	}
	// A broken handle with nothing in any block: DEL still succeeds and removes it.
	putRaw(t, c, store.HandleKey("h-none"), "nope")
	if err := a.ReleaseByHandle(ctx, "h-none"); err != nil {
		t.Fatalf("ReleaseByHandle: %v", err)
	}
	if _, err := c.GetKV(ctx, store.HandleKey("h-none")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("broken handle still stored: %v", err)
	}
}

func TestReleaseSkipsBrokenBlock(t *testing.T) {
	a, c := setup(t)
	ctx := ctxT(t)
	mkPool(t, c, "p", "10.52.0.0/24", 26, "")
	mkNode(t, c, "h1", "")
	v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Num4: 1, HandleID: "h-b", Hostname: "h1"})
	if err != nil || len(v4) != 1 {
		t.Fatalf("AutoAssign: %v %v", v4, err)
	}
	block := netip.PrefixFrom(v4[0].Addr(), 26).Masked()
	putRaw(t, c, store.BlockKey(block.String()), "garbage")
	// The DEL must not fail forever on a block nobody can read; the address stays taken
	// (it cannot be freed without the block) and the warning names the key.
	if err := a.ReleaseByHandle(ctx, "h-b"); err != nil {
		t.Fatalf("ReleaseByHandle with its block broken: %v", err)
	}
	if _, err := a.ReleaseIPs(ctx, ReleaseOptions{Address: v4[0].Addr()}); err != nil {
		t.Fatalf("Release with the block broken: %v", err)
	}
}
