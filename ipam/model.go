package ipam

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"
)

// The stored IPAM values, field for field as Calico's libcalico-go model writes them
// (calico-model.md §1.3), so that calicoctl and calico-node read what brindle writes.

// Block is the value of /calico/ipam/v2/assignment/<family>/block/<cidr>.
type Block struct {
	CIDR        string            `json:"cidr"`
	Affinity    *string           `json:"affinity"`
	Allocations []*int            `json:"allocations"`
	Unallocated []int             `json:"unallocated"`
	Attributes  []AllocationAttrs `json:"attributes"`
	SequenceNum uint64            `json:"sequenceNumber"`
	SeqForAlloc map[string]uint64 `json:"sequenceNumberForAllocation"`
	Deleted     bool              `json:"deleted"`
	// HostAffinity is Calico's deprecated field; kept so a round trip does not drop it.
	HostAffinity *string `json:"hostAffinity,omitempty"`

	prefix netip.Prefix // parsed CIDR, set by decodeBlock/newBlock
}

// AllocationAttrs is one entry of a block's attributes list; allocations point at it by index.
type AllocationAttrs struct {
	HandleID  *string           `json:"handle_id"`
	Secondary map[string]string `json:"secondary"`
}

// Handle is the value of /calico/ipam/v2/handle/<id>: how many addresses it holds per block.
type Handle struct {
	Block   map[string]int `json:"block"`
	Deleted bool           `json:"deleted"`
}

// Affinity is the value of /calico/ipam/v2/host/<host>/<family>/block/<cidr>.
type Affinity struct {
	State   string `json:"state,omitempty"`
	Deleted bool   `json:"deleted"`
}

// Affinity states. A legacy empty value means confirmed.
const (
	StateConfirmed       = "confirmed"
	StatePending         = "pending"
	StatePendingDeletion = "pendingDeletion"
)

// Config is the value of /calico/ipam/v2/config.
type Config struct {
	StrictAffinity     bool `json:"strict_affinity,omitempty"`
	AutoAllocateBlocks bool `json:"auto_allocate_blocks,omitempty"`
	MaxBlocksPerHost   int  `json:"maxBlocksPerHost,omitempty"`
}

// Secondary attribute keys Calico and brindle's CNI write.
const (
	AttrNode        = "node"
	AttrTimestamp   = "timestamp"
	AttrNamespace   = "namespace"
	AttrPod         = "pod"
	AttrWorkload    = "workload"
	AttrContainerID = "containerID"
	AttrType        = "type"
)

// newBlock builds an empty block for cidr, as Calico's newBlock does: every ordinal free in
// order, sequence number seeded from the clock.
func newBlock(cidr netip.Prefix, affinity *string) *Block {
	n := blockSize(cidr)
	b := &Block{
		CIDR:        cidr.String(),
		Affinity:    affinity,
		Allocations: make([]*int, n),
		Unallocated: make([]int, n),
		Attributes:  []AllocationAttrs{},
		SequenceNum: uint64(time.Now().UnixNano()),
		SeqForAlloc: map[string]uint64{},
		prefix:      cidr,
	}
	for i := range b.Unallocated {
		b.Unallocated[i] = i
	}
	return b
}

func decodeBlock(value []byte) (*Block, error) {
	b := &Block{}
	if err := json.Unmarshal(value, b); err != nil {
		return nil, fmt.Errorf("decoding block: %w", err)
	}
	p, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return nil, fmt.Errorf("block cidr %q: %w", b.CIDR, err)
	}
	b.prefix = p
	if n := blockSize(p); len(b.Allocations) != n {
		return nil, fmt.Errorf("block %s: allocations has %d entries, want %d", b.CIDR, len(b.Allocations), n)
	}
	if b.SeqForAlloc == nil {
		b.SeqForAlloc = map[string]uint64{}
	}
	if b.Attributes == nil {
		b.Attributes = []AllocationAttrs{}
	}
	if b.Unallocated == nil {
		b.Unallocated = []int{}
	}
	return b, nil
}

func decodeHandle(value []byte) (*Handle, error) {
	h := &Handle{}
	if err := json.Unmarshal(value, h); err != nil {
		return nil, fmt.Errorf("decoding handle: %w", err)
	}
	if h.Block == nil {
		h.Block = map[string]int{}
	}
	return h, nil
}

// decodeAffinity accepts Calico's legacy empty value as confirmed.
func decodeAffinity(value []byte) (*Affinity, error) {
	a := &Affinity{}
	if len(value) > 0 {
		if err := json.Unmarshal(value, a); err != nil {
			return nil, fmt.Errorf("decoding affinity: %w", err)
		}
	}
	if a.State == "" {
		a.State = StateConfirmed
	}
	return a, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs are marshalled here; failure is a programming error.
		panic(err)
	}
	return b
}

// hostAffinity is the block's "affinity" value for a host.
func hostAffinity(host string) *string {
	s := "host:" + host
	return &s
}

// AffinityHost returns the host a block is affine to, or "".
func (b *Block) AffinityHost() string {
	if b.Affinity == nil {
		return ""
	}
	if len(*b.Affinity) > 5 && (*b.Affinity)[:5] == "host:" {
		return (*b.Affinity)[5:]
	}
	return ""
}

// Prefix is the block's CIDR.
func (b *Block) Prefix() netip.Prefix { return b.prefix }
