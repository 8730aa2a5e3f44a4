package calc

import (
	"cmp"
	"net/netip"
	"slices"
)

// Affinity states of /calico/ipam/v2/host/<node>/ipv4/block/<cidr>; "" (a legacy empty
// value) counts as confirmed, as in Calico.
const (
	AffinityConfirmed       = "confirmed"
	AffinityPending         = "pending"
	AffinityPendingDeletion = "pendingDeletion"
)

// BGPAffinity is one block affinity of this node.
type BGPAffinity struct {
	CIDR  netip.Prefix
	State string
}

// BGPPool is what export needs from an IPPool.
type BGPPool struct {
	CIDR             netip.Prefix
	DisableBGPExport bool
}

// BGPExportInput is what this node may advertise from.
type BGPExportInput struct {
	Affinities []BGPAffinity
	// LocalIPs are the workload addresses allocated on this node, in any block.
	LocalIPs []netip.Addr
	Pools    []BGPPool
}

// BGPAdvertisement is one prefix this node originates, and why.
type BGPAdvertisement struct {
	Prefix netip.Prefix
	Reason string
}

// ComputeBGPAdvertisements follows Calico's export filter (calico_aggr and
// calico_export_to_bgp_peers): each confirmed affine block is advertised whole and the
// addresses inside it are not; a workload address outside every advertised own block (a
// borrowed address, or one in a block whose affinity is not confirmed) is advertised as a
// host route if an IP pool contains it; nothing inside a pool with disableBGPExport goes out.
func ComputeBGPAdvertisements(in BGPExportInput) ([]BGPAdvertisement, []Decision) {
	var out []BGPAdvertisement
	var skipped []Decision
	noExport := func(p netip.Prefix) (netip.Prefix, bool) {
		for _, pool := range in.Pools {
			if pool.DisableBGPExport && pool.CIDR.Bits() <= p.Bits() && pool.CIDR.Contains(p.Addr()) {
				return pool.CIDR, true
			}
		}
		return netip.Prefix{}, false
	}
	var blocks []netip.Prefix
	for _, a := range in.Affinities {
		cidr := a.CIDR.Masked()
		if a.State != "" && a.State != AffinityConfirmed {
			skipped = append(skipped, Decision{Subject: "block " + cidr.String(), Reason: "affinity is " + a.State + ", not confirmed"})
			continue
		}
		if pool, ok := noExport(cidr); ok {
			skipped = append(skipped, Decision{Subject: "block " + cidr.String(), Reason: "pool " + pool.String() + " has disableBGPExport"})
			continue
		}
		blocks = append(blocks, cidr)
		out = append(out, BGPAdvertisement{Prefix: cidr, Reason: "confirmed affine block of this node"})
	}
	for _, ip := range in.LocalIPs {
		host := netip.PrefixFrom(ip, ip.BitLen())
		if slices.ContainsFunc(blocks, func(b netip.Prefix) bool { return b.Contains(ip) }) {
			continue // covered by the block route
		}
		if pool, ok := noExport(host); ok {
			skipped = append(skipped, Decision{Subject: "address " + ip.String(), Reason: "pool " + pool.String() + " has disableBGPExport"})
			continue
		}
		if !slices.ContainsFunc(in.Pools, func(p BGPPool) bool { return p.CIDR.Contains(ip) }) {
			skipped = append(skipped, Decision{Subject: "address " + ip.String(), Reason: "in no IP pool"})
			continue
		}
		out = append(out, BGPAdvertisement{Prefix: host, Reason: "workload address outside this node's advertised blocks (borrowed)"})
	}
	slices.SortFunc(out, func(a, b BGPAdvertisement) int {
		return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()))
	})
	out = slices.CompactFunc(out, func(a, b BGPAdvertisement) bool { return a.Prefix == b.Prefix })
	slices.SortFunc(skipped, func(a, b Decision) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Reason, b.Reason))
	})
	return out, skipped
}
