package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
)

// cleanupNode removes what a deleted node leaves behind, as calicoctl's node deletion does:
// its workload endpoints, its host endpoints (libcalico-go/lib/clientv3/node.go), its addresses
// and block affinities, and its CalicoNodeStatus. Other
// agents then withdraw the node's routes from their kernels through their watches.
func cleanupNode(ctx context.Context, cl *store.Client, name string) error {
	weps, _, err := store.ListAs[*api.WorkloadEndpoint](ctx, cl, "")
	if err != nil {
		return err
	}
	var errs []error
	for _, w := range weps {
		if w.Spec.Node != name {
			continue
		}
		if _, err := cl.Delete(ctx, "WorkloadEndpoint", w.Namespace, w.Name, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	heps, _, err := store.ListAs[*api.HostEndpoint](ctx, cl, "")
	if err != nil {
		errs = append(errs, err)
	}
	for _, h := range heps {
		if h.Spec.Node != name {
			continue
		}
		if _, err := cl.Delete(ctx, "HostEndpoint", "", h.Name, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if _, err := ipam.New(cl, ipam.Options{}).ReleaseNode(ctx, name); err != nil {
		errs = append(errs, fmt.Errorf("releasing the addresses of node %q: %w", name, err))
	}
	if _, err := cl.Delete(ctx, "CalicoNodeStatus", "", name, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
