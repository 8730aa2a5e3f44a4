package node

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// TestAutoHostEndpoint: the automatic host endpoint follows the Node's labels and addresses,
// keeps a profile the user added, and is left alone when nothing changed.
func TestAutoHostEndpoint(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	if err := c.EnsureInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := register(ctx, c, "n1", netip.MustParsePrefix("10.0.0.5/24"), netip.Prefix{}, 0); err != nil {
		t.Fatal(err)
	}
	n, _ := store.GetAs[*api.Node](ctx, c, "", "n1")
	n.Labels = map[string]string{"rack": "r1"}
	n.Spec.IPv4VXLANTunnelAddr = "10.244.0.1"
	if _, err := c.Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := ensureAutoHostEndpoint(ctx, c, "n1"); err != nil {
		t.Fatal(err)
	}
	h, err := store.GetAs[*api.HostEndpoint](ctx, c, "", "n1-auto-hep")
	if err != nil {
		t.Fatal(err)
	}
	if h.Spec.InterfaceName != "*" || h.Spec.Node != "n1" || h.Labels["rack"] != "r1" || h.Labels[autoHEPCreatedKey] != autoHEPCreatedValue ||
		!slices.Equal(h.Spec.ExpectedIPs, []string{"10.0.0.5", "10.244.0.1"}) || !slices.Equal(h.Spec.Profiles, []string{"projectcalico-default-allow"}) {
		t.Fatalf("auto hep: %+v %+v", h.Labels, h.Spec)
	}
	rv := h.ResourceVersion
	if err := ensureAutoHostEndpoint(ctx, c, "n1"); err != nil {
		t.Fatal(err)
	}
	if h2, _ := store.GetAs[*api.HostEndpoint](ctx, c, "", "n1-auto-hep"); h2.ResourceVersion != rv {
		t.Error("unchanged auto hep rewritten")
	}
	// A user's extra profile stays; a label change on the Node follows.
	h.Spec.Profiles = append(h.Spec.Profiles, "extra")
	if _, err := c.Update(ctx, h); err != nil {
		t.Fatal(err)
	}
	n, _ = store.GetAs[*api.Node](ctx, c, "", "n1")
	n.Labels["rack"] = "r2"
	if _, err := c.Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := ensureAutoHostEndpoint(ctx, c, "n1"); err != nil {
		t.Fatal(err)
	}
	h, _ = store.GetAs[*api.HostEndpoint](ctx, c, "", "n1-auto-hep")
	if h.Labels["rack"] != "r2" || len(h.Spec.Profiles) != 2 {
		t.Errorf("after node edit: %+v %+v", h.Labels, h.Spec)
	}
}
