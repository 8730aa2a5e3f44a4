package kill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
)

// Remote nodes that exist only as datastore records (Node, one /26 block and its affinity,
// the shapes of a Calico etcd dump): the cheapest real way to make an agent program 10,000
// routes. `node run --bgp=false` routes every remote block via its node's address, so the
// nodes sit in the bed's /16 and the routes are valid on the host's uplink.

var (
	remotePool   = netip.MustParsePrefix("100.64.0.0/10") // 65,536 /26 blocks
	remoteSubnet = netip.MustParsePrefix("172.30.0.0/16")
)

func remoteName(i int) string { return fmt.Sprintf("bfk-remote-%05d", i) }

// remoteIP is remote node i's address, 172.30.100.2 + i (clear of the bed's hosts).
func remoteIP(i int) netip.Addr {
	v := uint32(172)<<24 | uint32(30)<<16 | uint32(100)<<8 + 2 + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// remoteBlock is the i-th /26 from the top of the pool, far from the agents' own blocks.
func remoteBlock(i int) netip.Prefix {
	v := uint32(100)<<24 | uint32(127)<<16 | uint32(255)<<8 | 192 - uint32(i)<<6
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 26)
}

func remoteOps(i int) ([]store.Op, error) {
	name, block := remoteName(i), remoteBlock(i)
	nodeKind, _ := api.LookupKind("Node")
	n := api.Node{TypeMeta: api.TypeMeta{Kind: "Node", APIVersion: api.Group},
		ObjectMeta: api.ObjectMeta{Name: name, UID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			CreationTimestamp: "2026-12-03T12:00:00Z"},
		Spec: api.NodeSpec{BGP: &api.NodeBGPSpec{IPv4Address: netip.PrefixFrom(remoteIP(i), remoteSubnet.Bits()).String()}}}
	nodeJSON, err := json.Marshal(&n)
	if err != nil {
		return nil, err
	}
	aff := "host:" + name
	b := &ipam.Block{CIDR: block.String(), Affinity: &aff, Allocations: make([]*int, 64),
		Attributes: []ipam.AllocationAttrs{}, SeqForAlloc: map[string]uint64{}}
	for o := range 64 {
		b.Unallocated = append(b.Unallocated, o)
	}
	blockJSON, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return []store.Op{
		{Key: store.ResourceKey(nodeKind, "", name), Value: nodeJSON},
		{Key: store.BlockKey(block.String()), Value: blockJSON},
		{Key: store.AffinityKey(name, block.String()), Value: []byte(`{"state":"confirmed","deleted":false}`)},
	}, nil
}

// writeRemotes creates remote nodes [0, n) in transactions of 40 nodes (120 keys, under
// etcd's default limit of 128 operations per transaction).
func writeRemotes(ctx context.Context, st *store.Client, n int) error {
	const perTxn = 40
	for lo := 0; lo < n; lo += perTxn {
		var ops []store.Op
		for i := lo; i < min(lo+perTxn, n); i++ {
			o, err := remoteOps(i)
			if err != nil {
				return err
			}
			ops = append(ops, o...)
		}
		if _, err := st.Txn(ctx, ops...); err != nil {
			return fmt.Errorf("writing remote nodes %d-%d: %w", lo, min(lo+perTxn, n)-1, err)
		}
	}
	return nil
}
