package api

import "net/netip"

// Checks that need other stored resources. The store calls them inside its write path:
// CheckPoolOverlap on every IPPool create/update with the other pools it listed, and
// ValidateUpdate with the stored object on every update.

// CheckPoolOverlap rejects a pool whose CIDR overlaps another pool's (pools with the same
// name are skipped: that is the pool being updated). Calico requires pools to be disjoint
// so that every address belongs to exactly one pool.
func CheckPoolOverlap(p *IPPool, others []*IPPool) error {
	mine, err := netip.ParsePrefix(p.Spec.CIDR)
	if err != nil {
		return nil // Validate reports the bad CIDR
	}
	var e Errs
	for _, o := range others {
		if o == nil || o.Name == p.Name {
			continue
		}
		theirs, err := netip.ParsePrefix(o.Spec.CIDR)
		if err != nil {
			continue
		}
		if mine.Masked().Overlaps(theirs.Masked()) {
			e.Add("spec.cidr", p.Spec.CIDR, "overlaps IPPool %q (%s)", o.Name, o.Spec.CIDR)
		}
	}
	return e.For(p)
}

// ValidateUpdate rejects changes to fields Calico makes immutable. old and updated must be of
// the same kind; kinds without immutable fields always pass.
func ValidateUpdate(old, updated Resource) error {
	var e Errs
	switch n := updated.(type) {
	case *IPPool:
		o, ok := old.(*IPPool)
		if !ok {
			return nil
		}
		// Blocks already carved from the pool keep their size and range; changing either
		// would strand allocations. Create a new pool and migrate instead.
		if o.Spec.CIDR != n.Spec.CIDR {
			e.Add("spec.cidr", n.Spec.CIDR, "cannot be changed (was %s): create a new pool and disable this one", o.Spec.CIDR)
		}
		if o.Spec.BlockSize != 0 && o.Spec.BlockSize != n.Spec.BlockSize {
			e.Add("spec.blockSize", n.Spec.BlockSize, "cannot be changed (was %d)", o.Spec.BlockSize)
		}
	case *WorkloadEndpoint:
		o, ok := old.(*WorkloadEndpoint)
		if ok && o.Spec.Node != "" && o.Spec.Node != n.Spec.Node {
			e.Add("spec.node", n.Spec.Node, "cannot be changed (was %s)", o.Spec.Node)
		}
	case *CalicoNodeStatus:
		o, ok := old.(*CalicoNodeStatus)
		if ok && o.Spec.Node != n.Spec.Node {
			e.Add("spec.node", n.Spec.Node, "cannot be changed (was %s)", o.Spec.Node)
		}
	}
	return e.For(updated)
}
