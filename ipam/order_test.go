package ipam

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// The stored values and the order of addresses match what Calico v3.30 wrote on this machine
// (calico-cni-observed.md, calico-etcd-dump.txt).
func TestOrderAndStoredValuesMatchCalico(t *testing.T) {
	a, c := setup(t)
	mkPool(t, c, "default-ipv4-ippool", "10.244.0.0/16", 24, `"ipipMode":"Always","natOutgoing":true`)
	mkNode(t, c, "node1", "")
	ctx := ctxT(t)

	first := assign(t, a, "node1", "calico-peer-test.abc", 1)[0]
	block := first.Masked()
	if first.Bits() != 24 || first.Addr() != block.Addr() {
		t.Fatalf("first address %s: want the block's .0 with the block mask", first)
	}
	bv := rawGet(t, c, store.BlockKey(block.String()))
	wantPrefix := fmt.Sprintf(`{"cidr":"%s","affinity":"host:node1","allocations":[0,null,`, block)
	if !strings.HasPrefix(bv, wantPrefix) {
		t.Fatalf("block value starts %.80s, want %s", bv, wantPrefix)
	}
	for _, part := range []string{`"unallocated":[1,2,3,`, `,254,255],"attributes":[{"handle_id":"calico-peer-test.abc","secondary":{"node":"node1","timestamp":"`, `"sequenceNumberForAllocation":{"0":`, `,"deleted":false}`} {
		if !strings.Contains(bv, part) {
			t.Errorf("block value lacks %s:\n%.400s", part, bv)
		}
	}
	if got := rawGet(t, c, store.HandleKey("calico-peer-test.abc")); got != fmt.Sprintf(`{"block":{"%s":1},"deleted":false}`, block) {
		t.Errorf("handle value %s", got)
	}
	if got := rawGet(t, c, store.AffinityKey("node1", block.String())); got != `{"state":"confirmed","deleted":false}` {
		t.Errorf("affinity value %s", got)
	}
	b, _ := decodeBlock([]byte(bv))
	if b.SeqForAlloc["0"] != b.SequenceNum-1 {
		t.Errorf("sequenceNumberForAllocation %d, sequenceNumber %d: want allocation = sequence-1", b.SeqForAlloc["0"], b.SequenceNum)
	}

	second := assign(t, a, "node1", "calico-peer-test.v1test", 1)[0]
	if want := OrdinalAddr(block, 1); second.Addr() != want {
		t.Fatalf("second address %s, want %s", second.Addr(), want)
	}
	for _, h := range []string{"calico-peer-test.abc", "calico-peer-test.v1test"} {
		if err := a.ReleaseByHandle(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	// Freed .0 and .1 go to the back: the next 40 get .2 ... .41 in order.
	for i := 2; i < 42; i++ {
		h := fmt.Sprintf("net.i%d", i)
		got := assign(t, a, "node1", h, 1)[0].Addr()
		if want := OrdinalAddr(block, i); got != want {
			t.Fatalf("allocation %d got %s, want %s", i, got, want)
		}
		if err := a.ReleaseByHandle(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	_, b2, err := a.getBlock(ctx, block)
	if err != nil {
		t.Fatal(err)
	}
	if b2.Unallocated[0] != 42 || b2.Unallocated[len(b2.Unallocated)-1] != 41 || b2.Unallocated[len(b2.Unallocated)-42] != 0 {
		t.Errorf("unallocated should start at 42 and end with 0..41: head %v tail %v", b2.Unallocated[:3], b2.Unallocated[len(b2.Unallocated)-43:])
	}
	if len(b2.Attributes) != 0 || !b2.empty() {
		t.Errorf("block should be empty with no attributes: %+v", b2.Attributes)
	}
	// The host keeps its block and affinity; handles are gone.
	if _, err := c.GetKV(ctx, store.HandleKey("net.i41")); err == nil {
		t.Error("released handle still stored")
	}
	checkClean(t, a)
}

func TestOrdinalMath(t *testing.T) {
	for _, tc := range []struct {
		cidr string
		ord  int
		ip   string
	}{{"10.0.0.0/24", 0, "10.0.0.0"}, {"10.0.0.0/24", 255, "10.0.0.255"}, {"10.0.16.0/20", 4095, "10.0.31.255"},
		{"fd00::40/122", 63, "fd00::7f"}, {"fd00:0:0:1::/116", 300, "fd00:0:0:1::12c"}} {
		p := netip.MustParsePrefix(tc.cidr)
		got := OrdinalAddr(p, tc.ord)
		if got.String() != tc.ip {
			t.Errorf("OrdinalAddr(%s, %d) = %s, want %s", tc.cidr, tc.ord, got, tc.ip)
		}
		if o, ok := addrOrdinal(p, got); !ok || o != tc.ord {
			t.Errorf("addrOrdinal(%s, %s) = %d %v", tc.cidr, got, o, ok)
		}
	}
	pl := &pool{CIDR: netip.MustParsePrefix("10.244.0.0/16"), BlockBits: 26}
	seen := map[netip.Prefix]bool{}
	blockWalk(pl, "node1", func(c netip.Prefix) bool {
		if seen[c] || !pl.CIDR.Contains(c.Addr()) || c.Bits() != 26 || c.Masked() != c {
			t.Fatalf("bad or repeated block %s", c)
		}
		seen[c] = true
		return true
	})
	if len(seen) != 1024 {
		t.Fatalf("walk visited %d blocks, want 1024", len(seen))
	}
}
