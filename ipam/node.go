package ipam

import (
	"context"
	"net/netip"
)

// ReleaseNode frees everything IPAM holds for a node that is being removed, as calicoctl's
// node deletion does: every address allocated to the node (workloads and tunnels, each
// release guarded by its handle and sequence number so an address reused meanwhile is left
// alone), then its block affinities (empty blocks deleted, others unaffined). It returns the
// addresses it released.
func (a *Allocator) ReleaseNode(ctx context.Context, node string) ([]netip.Addr, error) {
	s, err := a.takeScan(ctx)
	if err != nil {
		return nil, err
	}
	var opts []ReleaseOptions
	var released []netip.Addr
	for _, al := range s.allocs {
		if al.Attrs[AttrNode] != node {
			continue
		}
		o := ReleaseOptions{Address: al.IP, Handle: al.Handle}
		if al.hasSeq {
			seq := al.Seq
			o.SequenceNumber = &seq
		}
		opts = append(opts, o)
		released = append(released, al.IP)
	}
	if len(opts) > 0 {
		skipped, err := a.ReleaseIPs(ctx, opts...)
		if err != nil {
			return nil, err
		}
		released = without(released, skipped)
	}
	for _, kind := range TunnelKinds {
		// Normally empty after the guarded releases; this drops whatever it still counts.
		if err := a.ReleaseByHandle(ctx, kind.handle(node)); err != nil {
			return released, err
		}
	}
	return released, a.ReleaseHostAffinities(ctx, node)
}

func without(all, drop []netip.Addr) []netip.Addr {
	skip := make(map[netip.Addr]bool, len(drop))
	for _, d := range drop {
		skip[d] = true
	}
	out := all[:0]
	for _, a := range all {
		if !skip[a] {
			out = append(out, a)
		}
	}
	return out
}
