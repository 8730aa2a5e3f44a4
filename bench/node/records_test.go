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

// The IPv6 twin (BenchmarkAgentColdStartIPv6): every remote node also has an IPv6 address in
// fakeSubnet6 and its block is a /122 (Calico's IPv6 default, 64 addresses like the /26) of
// benchPool6, the tunnel handle at its first address as in the IPv4 block.
var (
	benchPool6  = netip.MustParsePrefix("fd00:64::/106") // 65,536 /122 blocks
	fakeSubnet6 = netip.MustParsePrefix("fd00:30::/64")
)

// remoteIP6 is remote node i's IPv6 address, clear of the bed's own host numbers.
func remoteIP6(i int) netip.Addr {
	b := fakeSubnet6.Addr().As16()
	v := uint32(1)<<16 + uint32(i)
	b[12], b[13], b[14], b[15] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return netip.AddrFrom16(b)
}

// remoteBlock6 is the i-th /122 counted from the top of benchPool6.
func remoteBlock6(i int) netip.Prefix {
	b := benchPool6.Addr().As16()
	v := (uint32(1)<<16 - 1 - uint32(i)) << 6 // the pool's 22 host bits: 16 of block index, 6 of offset
	b[13], b[14], b[15] = byte(v>>16), byte(v>>8), byte(v)
	return netip.PrefixFrom(netip.AddrFrom16(b), 122)
}

// remoteOps are the writes that create remote node i (Node, block, affinity); with v6 the
// block is remoteBlock6(i) and the node has an IPv6 address as well.
func remoteOps(i int, v6 bool) ([]store.Op, error) {
	name, block := remoteName(i), remoteBlock(i)
	nodeKind, _ := api.LookupKind("Node")
	n := api.Node{TypeMeta: api.TypeMeta{Kind: "Node", APIVersion: api.Group},
		ObjectMeta: api.ObjectMeta{Name: name, UID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			CreationTimestamp: "2026-11-25T19:31:15Z", Labels: api.Labels{"kubernetes.io/hostname": name}},
		Spec: api.NodeSpec{BGP: &api.NodeBGPSpec{IPv4Address: netip.PrefixFrom(remoteIP(i), fakeSubnet.Bits()).String()},
			IPv4VXLANTunnelAddr: block.Addr().String()}}
	if v6 {
		block = remoteBlock6(i)
		n.Spec.BGP.IPv6Address = netip.PrefixFrom(remoteIP6(i), fakeSubnet6.Bits()).String()
		n.Spec.IPv4VXLANTunnelAddr = ""
	}
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
	size := 1 << (block.Addr().BitLen() - block.Bits())
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
	return writeRemotesFamily(ctx, st, from, to, false)
}

// writeRemotesFamily is writeRemotes with IPv6 blocks when v6.
func writeRemotesFamily(ctx context.Context, st *store.Client, from, to int, v6 bool) error {
	const perTxn = 40
	for lo := from; lo < to; lo += perTxn {
		var ops []store.Op
		for i := lo; i < min(lo+perTxn, to); i++ {
			o, err := remoteOps(i, v6)
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
