package ipam

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/brindle-net/brindle/store"
)

// scan is one consistent-enough picture of IPAM for check and gc. Blocks are read before
// endpoints and nodes, so an allocation seen here whose endpoint is missing from the later
// endpoint list really had no endpoint at that later moment (or its ADD is still in flight,
// which the allocation timestamp and grace period cover).
type scan struct {
	blocks   map[netip.Prefix]blockRef
	handles  map[string]store.KV
	affs     []hostAff
	nodes    map[string]bool
	weps     []wepView
	wepIPs   map[netip.Addr][]string // address -> endpoints listing it
	allocs   []allocation
	scanTime time.Time
}

type hostAff struct {
	Host string
	CIDR netip.Prefix
	KV   store.KV
	Aff  *Affinity
}

// allocation is one allocated address as a block records it.
type allocation struct {
	IP     netip.Addr
	Block  netip.Prefix
	Handle string
	Attrs  map[string]string
	Seq    uint64
	hasSeq bool
}

func (a *Allocator) takeScan(ctx context.Context) (*scan, error) {
	s := &scan{blocks: map[netip.Prefix]blockRef{}, handles: map[string]store.KV{}, wepIPs: map[netip.Addr][]string{}, scanTime: a.opts.Now()}
	for _, v6 := range []bool{false, true} {
		bs, err := a.listBlocks(ctx, v6)
		if err != nil {
			return nil, err
		}
		for c, br := range bs {
			s.blocks[c] = br
		}
	}
	hkvs, _, err := a.c.ListKV(ctx, store.HandleKey(""))
	if err != nil {
		return nil, err
	}
	for _, kv := range hkvs {
		s.handles[strings.TrimPrefix(kv.Key, store.HandleKey(""))] = kv
	}
	akvs, _, err := a.c.ListKV(ctx, store.IPAMPrefix+"host/")
	if err != nil {
		return nil, err
	}
	for _, kv := range akvs {
		// host/<host>/<family>/block/<cidr>; host names contain no "/".
		parts := strings.Split(strings.TrimPrefix(kv.Key, store.IPAMPrefix+"host/"), "/")
		if len(parts) != 4 || parts[2] != "block" {
			continue
		}
		cidr, err := netip.ParsePrefix(store.CIDRFromKeySuffix(parts[3]))
		if err != nil {
			continue
		}
		aff, err := decodeAffinity(kv.Value)
		if err != nil {
			continue
		}
		s.affs = append(s.affs, hostAff{Host: parts[0], CIDR: cidr, KV: kv, Aff: aff})
	}
	if s.nodes, err = a.nodeNames(ctx); err != nil {
		return nil, err
	}
	if s.weps, err = a.listWEPs(ctx); err != nil {
		return nil, err
	}
	for _, w := range s.weps {
		for _, n := range w.Spec.IPNetworks {
			if p, err := parseCIDROrIP(n); err == nil {
				s.wepIPs[p.Addr()] = append(s.wepIPs[p.Addr()], w.Metadata.Namespace+"/"+w.Metadata.Name)
			}
		}
	}
	for c, br := range s.blocks {
		b := br.B
		for ord := range b.Allocations {
			if b.Allocations[ord] == nil {
				continue
			}
			seq, ok := b.SeqForAlloc[itoa(ord)]
			s.allocs = append(s.allocs, allocation{IP: OrdinalAddr(c, ord), Block: c, Handle: b.handleOf(ord),
				Attrs: b.attrsOf(ord), Seq: seq, hasSeq: ok})
		}
	}
	return s, nil
}

// tunnelHandle reports whether a handle is one of calico-node's per-node handles.
func tunnelHandle(h string) bool {
	for _, p := range []string{"ipip-tunnel-addr-", "vxlan-tunnel-addr-", "vxlan-v6-tunnel-addr-", "wireguard-tunnel-addr-", "wireguard-v6-tunnel-addr-"} {
		if strings.HasPrefix(h, p) {
			return true
		}
	}
	return false
}

// ownerVerdict says whether an allocation's owner still exists.
type ownerVerdict struct {
	gone   bool
	reason string
}

// owner decides whether al's owner is gone. It errs on the side of "alive": an allocation
// is only judged gone when it names a node that does not exist, or names a workload (by
// container ID, pod or workload) that no endpoint matches and no endpoint lists its address.
func (s *scan) owner(al allocation) ownerVerdict {
	node := al.Attrs[AttrNode]
	if node == "" && tunnelHandle(al.Handle) {
		for _, p := range []string{"ipip-tunnel-addr-", "vxlan-tunnel-addr-", "vxlan-v6-tunnel-addr-", "wireguard-tunnel-addr-", "wireguard-v6-tunnel-addr-"} {
			if rest, ok := strings.CutPrefix(al.Handle, p); ok {
				node = rest
			}
		}
	}
	if node != "" && !s.nodes[node] {
		return ownerVerdict{gone: true, reason: "node " + node + " does not exist"}
	}
	// The node check comes first: endpoints of a deleted node are stale records too.
	if len(s.wepIPs[al.IP]) > 0 {
		return ownerVerdict{}
	}
	if tunnelHandle(al.Handle) || al.Attrs[AttrType] != "" {
		return ownerVerdict{}
	}
	cid := al.Attrs[AttrContainerID]
	if cid == "" {
		if i := strings.LastIndex(al.Handle, "."); i >= 0 {
			cid = al.Handle[i+1:] // CNI handles are <network>.<containerID>
		}
	}
	ns, pod, wl := al.Attrs[AttrNamespace], al.Attrs[AttrPod], al.Attrs[AttrWorkload]
	if cid == "" && pod == "" && wl == "" {
		return ownerVerdict{} // nothing names a workload: not ours to judge
	}
	for _, w := range s.weps {
		if node != "" && w.Spec.Node != "" && w.Spec.Node != node {
			continue
		}
		if (cid != "" && w.Spec.ContainerID == cid) ||
			(pod != "" && w.Spec.Pod == pod && (ns == "" || w.Metadata.Namespace == ns)) ||
			(wl != "" && w.Spec.Workload == wl && (ns == "" || w.Metadata.Namespace == ns)) {
			return ownerVerdict{}
		}
	}
	return ownerVerdict{gone: true, reason: "no workload endpoint for " + describeWorkload(cid, ns, pod, wl)}
}

func describeWorkload(cid, ns, pod, wl string) string {
	var parts []string
	if ns != "" {
		parts = append(parts, "namespace "+ns)
	}
	if pod != "" {
		parts = append(parts, "pod "+pod)
	}
	if wl != "" {
		parts = append(parts, "workload "+wl)
	}
	if cid != "" {
		parts = append(parts, "container "+cid)
	}
	return strings.Join(parts, ", ")
}

// age is how old an allocation is by its timestamp attribute; ok false when it has none.
func (s *scan) age(al allocation) (time.Duration, bool) {
	ts, ok := al.Attrs[AttrTimestamp]
	if !ok {
		return 0, false
	}
	t, err := time.Parse(TimestampLayout, ts)
	if err != nil {
		return 0, false
	}
	return s.scanTime.Sub(t), true
}
