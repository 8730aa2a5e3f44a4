package node

import (
	"encoding/json"
	"net/netip"
	"testing"
)

func TestCalcBlockRoutesBorrowedAddressesToTheBorrower(t *testing.T) {
	// Ordinal 0 is the owner's, ordinal 300 (in a /22) a workload on node b.
	raw := `{"affinity":"host:a","allocations":[0` + nulls(299) + `,1` + nulls(723) + `],
	  "attributes":[{"secondary":{"node":"a"}},{"secondary":{"node":"b"}}]}`
	var b blockRoutes
	if err := json.Unmarshal([]byte(raw), &b); err != nil {
		t.Fatal(err)
	}
	got := calcBlock(netip.MustParsePrefix("10.9.0.0/22"), &b)
	if got.Node != "a" || len(got.Borrowed) != 1 {
		t.Fatalf("got %+v, want owner a and one borrowed address", got)
	}
	if bi := got.Borrowed[0]; bi.Addr != netip.MustParseAddr("10.9.1.44") || bi.Node != "b" {
		t.Fatalf("borrowed %+v, want 10.9.1.44 on b", bi)
	}
}

func nulls(n int) string {
	s := ""
	for range n {
		s += ",null"
	}
	return s
}
