package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// DefaultGracePeriod is how long an allocation whose owner cannot be found is assumed to be
// an ADD still in flight. CNI calls time out long before this.
const DefaultGracePeriod = 5 * time.Minute

// Leak is an allocated address whose owner no longer exists.
type Leak struct {
	IP       netip.Addr
	Block    string
	Handle   string
	Reason   string
	Age      time.Duration // -1 when the allocation has no timestamp
	Seq      uint64
	hasSeq   bool
	InFlight bool // younger than the grace period: possibly an ADD that has not finished
}

// HandleMismatch is a handle whose count for a block differs from what the block holds.
type HandleMismatch struct {
	Handle      string
	Block       string
	HandleCount int // what the handle key says (0: the handle key is missing)
	BlockCount  int // what the block holds under this handle
}

// BlockProblem is a block affine to a node that does not exist.
type BlockProblem struct {
	Block string
	Host  string
	InUse int
}

// StaleAffinity is an affinity key that no block backs.
type StaleAffinity struct {
	Host, Block, State, Reason string
}

// Duplicate is an address held more than once: by two blocks or by two endpoints.
type Duplicate struct {
	IP      netip.Addr
	Holders []string
}

// CheckReport is what `ipam check` prints.
type CheckReport struct {
	Blocks, Handles, Allocations int
	Leaks                        []Leak // only those past the grace period
	InFlight                     []Leak // owner missing but younger than the grace period
	HandleMismatches             []HandleMismatch
	OrphanBlocks                 []BlockProblem
	StaleAffinities              []StaleAffinity
	Duplicates                   []Duplicate
}

// Problems counts findings that mean something is wrong (in-flight allocations are not).
func (r *CheckReport) Problems() int {
	return len(r.Leaks) + len(r.HandleMismatches) + len(r.OrphanBlocks) + len(r.StaleAffinities) + len(r.Duplicates)
}

// CheckOptions tune Check.
type CheckOptions struct {
	GracePeriod time.Duration // 0: DefaultGracePeriod
}

// Check inspects IPAM without changing anything.
func (a *Allocator) Check(ctx context.Context) (CheckReport, error) {
	return a.CheckWith(ctx, CheckOptions{})
}

// CheckWith is Check with options.
func (a *Allocator) CheckWith(ctx context.Context, o CheckOptions) (CheckReport, error) {
	s, err := a.takeScan(ctx)
	if err != nil {
		return CheckReport{}, err
	}
	return s.report(graceOrDefault(o.GracePeriod)), nil
}

func graceOrDefault(g time.Duration) time.Duration {
	if g <= 0 {
		return DefaultGracePeriod
	}
	return g
}

func (s *scan) report(grace time.Duration) CheckReport {
	r := CheckReport{Blocks: len(s.blocks), Handles: len(s.handles), Allocations: len(s.allocs)}
	// Leaks.
	for _, al := range s.allocs {
		v := s.owner(al)
		if !v.gone {
			continue
		}
		l := Leak{IP: al.IP, Block: al.Block.String(), Handle: al.Handle, Reason: v.reason, Age: -1, Seq: al.Seq, hasSeq: al.hasSeq}
		if age, ok := s.age(al); ok {
			l.Age = age
			l.InFlight = age < grace
		}
		if l.InFlight {
			r.InFlight = append(r.InFlight, l)
		} else {
			r.Leaks = append(r.Leaks, l)
		}
	}
	r.HandleMismatches = s.handleMismatches()
	// Blocks affine to missing nodes.
	for c, br := range s.blocks {
		if h := br.B.AffinityHost(); h != "" && !s.nodes[h] {
			r.OrphanBlocks = append(r.OrphanBlocks, BlockProblem{Block: c.String(), Host: h, InUse: br.B.inUse()})
		}
	}
	// Affinity keys without a matching block.
	for _, af := range s.affs {
		br, ok := s.blocks[af.CIDR]
		switch {
		case !ok && af.Aff.State == StateConfirmed:
			r.StaleAffinities = append(r.StaleAffinities, StaleAffinity{Host: af.Host, Block: af.CIDR.String(), State: af.Aff.State, Reason: "block does not exist"})
		case ok && br.B.AffinityHost() != af.Host:
			r.StaleAffinities = append(r.StaleAffinities, StaleAffinity{Host: af.Host, Block: af.CIDR.String(), State: af.Aff.State, Reason: fmt.Sprintf("block is affine to %q", br.B.AffinityHost())})
		}
	}
	r.Duplicates = s.duplicates()
	sort.Slice(r.Leaks, func(i, j int) bool { return r.Leaks[i].IP.Less(r.Leaks[j].IP) })
	sort.Slice(r.InFlight, func(i, j int) bool { return r.InFlight[i].IP.Less(r.InFlight[j].IP) })
	sort.Slice(r.OrphanBlocks, func(i, j int) bool { return r.OrphanBlocks[i].Block < r.OrphanBlocks[j].Block })
	return r
}

// handleMismatches compares every handle key with what the blocks hold under that handle.
func (s *scan) handleMismatches() []HandleMismatch {
	actual := map[string]map[string]int{} // handle -> block -> count
	for _, al := range s.allocs {
		if al.Handle == "" {
			continue
		}
		if actual[al.Handle] == nil {
			actual[al.Handle] = map[string]int{}
		}
		actual[al.Handle][al.Block.String()]++
	}
	var out []HandleMismatch
	seen := map[string]bool{}
	for id, kv := range s.handles {
		seen[id] = true
		h, err := decodeHandle(kv.Value)
		if err != nil {
			out = append(out, HandleMismatch{Handle: id, Block: "(undecodable handle)"})
			continue
		}
		for blk, n := range h.Block {
			if actual[id][blk] != n {
				out = append(out, HandleMismatch{Handle: id, Block: blk, HandleCount: n, BlockCount: actual[id][blk]})
			}
		}
		for blk, n := range actual[id] {
			if _, ok := h.Block[blk]; !ok {
				out = append(out, HandleMismatch{Handle: id, Block: blk, BlockCount: n})
			}
		}
	}
	for id, blks := range actual {
		if seen[id] {
			continue
		}
		for blk, n := range blks {
			out = append(out, HandleMismatch{Handle: id, Block: blk, BlockCount: n})
		}
	}
	slices.SortFunc(out, func(x, y HandleMismatch) int {
		if x.Handle != y.Handle {
			return compareStr(x.Handle, y.Handle)
		}
		return compareStr(x.Block, y.Block)
	})
	return out
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// duplicates finds addresses allocated in two blocks (overlapping blocks) or listed by two
// workload endpoints.
func (s *scan) duplicates() []Duplicate {
	holders := map[netip.Addr][]string{}
	for _, al := range s.allocs {
		holders[al.IP] = append(holders[al.IP], "block "+al.Block.String()+" handle "+al.Handle)
	}
	var out []Duplicate
	for ip, hs := range holders {
		if len(hs) > 1 {
			out = append(out, Duplicate{IP: ip, Holders: hs})
		}
	}
	for ip, ws := range s.wepIPs {
		if len(ws) > 1 {
			out = append(out, Duplicate{IP: ip, Holders: prefixAll("endpoint ", ws)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IP.Less(out[j].IP) })
	return out
}

func prefixAll(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}
