package nodebench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
)

// Remote nodes exist only as datastore records: Node, one /26 block with its affinity (the
// shapes of calico-etcd-dump.txt), with addresses in the bed's subnet so that the agent's
// routes to them are valid. Their VXLAN tunnel address is the block's first address, held by
// a tunnel handle as Calico's IPAM would hold it.

// benchPool holds the remote blocks: 65,536 /26 blocks, room for 10,000 and the agents' own.
var benchPool = netip.MustParsePrefix("100.64.0.0/10")

// fakeSubnet is the bed's single subnet; remote node i sits at 172.30.100.2 + i.
var fakeSubnet = netip.MustParsePrefix("172.30.0.0/16")

func remoteName(i int) string { return fmt.Sprintf("bnb-remote-%05d", i) }

func remoteIP(i int) netip.Addr {
	v := uint32(172)<<24 | uint32(30)<<16 | uint32(100)<<8 + 2 + uint32(i)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// remoteBlock is the i-th /26 counted from the top of the pool, far from where the agents'
// own allocations start.
func remoteBlock(i int) netip.Prefix {
	top := uint32(100)<<24 | uint32(127)<<16 | uint32(255)<<8 | 192
	v := top - uint32(i)<<6
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 26)
}

// remoteOps are the writes that create remote node i (Node, block, affinity).
func remoteOps(i int) ([]store.Op, error) {
	name, block := remoteName(i), remoteBlock(i)
	nodeKind, _ := api.LookupKind("Node")
	n := api.Node{TypeMeta: api.TypeMeta{Kind: "Node", APIVersion: api.Group},
		ObjectMeta: api.ObjectMeta{Name: name, UID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			CreationTimestamp: "2026-11-25T19:31:15Z", Labels: api.Labels{"kubernetes.io/hostname": name}},
		Spec: api.NodeSpec{BGP: &api.NodeBGPSpec{IPv4Address: netip.PrefixFrom(remoteIP(i), fakeSubnet.Bits()).String()},
			IPv4VXLANTunnelAddr: block.Addr().String()}}
	nodeJSON, err := json.Marshal(&n)
	if err != nil {
		return nil, err
	}
	blockJSON, err := json.Marshal(remoteBlockValue(name, block))
	if err != nil {
		return nil, err
	}
	return []store.Op{
		{Key: store.ResourceKey(nodeKind, "", name), Value: nodeJSON},
		{Key: store.BlockKey(block.String()), Value: blockJSON},
		{Key: store.AffinityKey(name, block.String()), Value: []byte(`{"state":"confirmed","deleted":false}`)},
	}, nil
}

func remoteBlockValue(node string, block netip.Prefix) *ipam.Block {
	size := 1 << (32 - block.Bits())
	aff := "host:" + node
	handle := "vxlan-tunnel-addr-" + node
	zero := 0
	b := &ipam.Block{CIDR: block.String(), Affinity: &aff, Allocations: make([]*int, size),
		Attributes:  []ipam.AllocationAttrs{{HandleID: &handle, Secondary: map[string]string{"node": node, "type": "vxlanTunnelAddress"}}},
		SeqForAlloc: map[string]uint64{"0": 1}, SequenceNum: 1}
	b.Allocations[0] = &zero
	for o := 1; o < size; o++ {
		b.Unallocated = append(b.Unallocated, o)
	}
	return b
}

// writeRemotes creates remote nodes [from, to) in transactions of 40 nodes (120 keys, under
// etcd's default limit of 128 operations per transaction).
func writeRemotes(ctx context.Context, st *store.Client, from, to int) error {
	const perTxn = 40
	for lo := from; lo < to; lo += perTxn {
		var ops []store.Op
		for i := lo; i < min(lo+perTxn, to); i++ {
			o, err := remoteOps(i)
			if err != nil {
				return err
			}
			ops = append(ops, o...)
		}
		if _, err := st.Txn(ctx, ops...); err != nil {
			return fmt.Errorf("writing remote nodes %d-%d: %w", lo, min(lo+perTxn, to)-1, err)
		}
	}
	return nil
}
