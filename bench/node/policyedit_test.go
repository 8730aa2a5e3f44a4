package nodebench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// What the policy benchmarks share: a policy edit timed from the etcd write to the kernel
// rule that carries it.

// editIngressPort sets the destination port of GlobalNetworkPolicy name's first ingress
// rule and returns the time just before the write.
func editIngressPort(ctx context.Context, b *testing.B, st *store.Client, name string, port int) time.Time {
	b.Helper()
	p, err := store.GetAs[*api.GlobalNetworkPolicy](ctx, st, "", name)
	if err != nil {
		b.Fatal(err)
	}
	p.Spec.Ingress[0].Destination.Ports = []api.Port{{MinPort: uint16(port), MaxPort: uint16(port)}}
	t0 := time.Now()
	if _, err := st.Update(ctx, p); err != nil {
		b.Fatal(err)
	}
	return t0
}

// waitChainRules polls chain's rules in the brindle table (one small netlink dump per
// millisecond) until ok and returns when; after 30 s it fails b.
func waitChainRules(b *testing.B, nc *nftables.Conn, what, chain string, ok func([]*nftables.Rule) bool) time.Time {
	b.Helper()
	nft := &nftables.Table{Name: "brindle", Family: nftables.TableFamilyIPv4}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rules, err := nc.GetRules(nft, &nftables.Chain{Name: chain, Table: nft})
		if err == nil && ok(rules) {
			return time.Now()
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("%s: chain %s never as expected", what, chain)
	return time.Time{}
}

// hasPort is true of rules when one of them compares against port (the edited policy's).
func hasPort(port int) func([]*nftables.Rule) bool {
	return func(rules []*nftables.Rule) bool {
		for _, r := range rules {
			if hasCmp(r, binaryutil.BigEndian.PutUint16(uint16(port))) {
				return true
			}
		}
		return false
	}
}

func hasCmp(r *nftables.Rule, data []byte) bool {
	for _, e := range r.Exprs {
		if c, ok := e.(*expr.Cmp); ok && bytes.Equal(c.Data, data) {
			return true
		}
	}
	return false
}

func slicesChunk(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for i := 0; i < len(s); i += n {
			if !yield(s[i:min(i+n, len(s))]) {
				return
			}
		}
	}
}
