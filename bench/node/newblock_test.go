package nodebench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

var meshHosts = []string{"node1", "node2", "node3"}

// BenchmarkNewBlockToRemote: three agents on one subnet, no encapsulation, a pool of /31
// blocks so that every other CNI ADD claims a new block (a filler ADD takes the second
// address). /32 blocks would be simpler but fail: the first CNI ADD on a node ends with "host
// already routes <ip>/32 through another interface", because the agent programs the blackhole
// for the new /32 affine block before the plugin adds the workload route to the same /32 and
// the plugin's conflict check counts the blackhole as another interface. Routes to it come from the datastore
// (--bgp=false) or over the BGP full mesh. Two paths are timed to the route appearing in the
// kernels of node2 and node3: a CNI ADD on node1 (from the plugin's start), and a direct etcd
// write of a block and its affinity for node1 (BGP convergence as the issue defines it).
// Baseline: etcd write -> delivery on a bare watch in this process.
func BenchmarkNewBlockToRemote(b *testing.B) {
	var rows [][]string
	for _, source := range []string{"datastore", "bgp"} {
		b.Run(source, func(b *testing.B) { rows = append(rows, newBlock(b, source)...) })
	}
	benchutil.Table("New block on node1 -> route in the kernels of node2 and node3 (mesh of 3, no encapsulation)",
		[]string{"route source", "path", "n", "p50 ms", "p90 ms", "max ms", "ratio p50 to bare watch"}, rows)
}

func newBlock(b *testing.B, source string) [][]string {
	ctx := context.Background()
	c := startCluster(b, testbed.Options{Subnets: []netip.Prefix{fakeSubnet},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}, {Name: "node3"}}})
	if err := c.Apply(poolYAML("bench-pool", benchPool.String(), 31, "Never", "Never")); err != nil {
		b.Fatal(err)
	}
	var watchers []*routeWatch
	for _, h := range meshHosts[1:] {
		w, err := watchRoutes(c.Host(h), benchPool)
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		watchers = append(watchers, w)
	}
	startAll(b, c, cluster.AgentOptions{NoBGP: source == "datastore"})
	st, err := c.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// Warm-up: the first container proves the path (BGP sessions up) before timing.
	ct, err := c.AddContainer("node1", "warm")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := waitAll(watchers, blockOf(ct.IP), 60*time.Second); err != nil {
		b.Fatal(err)
	}
	if _, err := c.AddContainer("node1", "fill-warm"); err != nil {
		b.Fatal(err)
	}

	var addDur, addTo2, addToAll []time.Duration
	for k := range 15 {
		for _, w := range watchers {
			w.Reset()
		}
		before, err := countBlocks(ctx, st)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		ct, err := c.AddContainer("node1", "c"+strconv.Itoa(k))
		if err != nil {
			b.Fatal(err)
		}
		dur := time.Since(t0)
		if after, err := countBlocks(ctx, st); err != nil || after != before+1 {
			b.Fatalf("CNI ADD %s did not claim exactly one new block (%d -> %d blocks, err %v)", ct, before, after, err)
		}
		at, err := waitAll(watchers, blockOf(ct.IP), 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		addDur = append(addDur, dur)
		addTo2 = append(addTo2, at[0].Sub(t0))
		addToAll = append(addToAll, latest(at).Sub(t0))
		if _, err := c.AddContainer("node1", "fill"+strconv.Itoa(k)); err != nil {
			b.Fatal(err)
		}
	}

	var writeTo2, writeToAll []time.Duration
	for k := range 20 {
		blk := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 127, 254, byte(2 * k)}), 31)
		for _, w := range watchers {
			w.Reset()
		}
		t0 := time.Now()
		if err := writeOwnBlock(ctx, st, "node1", blk); err != nil {
			b.Fatal(err)
		}
		at, err := waitAll(watchers, blk, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		writeTo2 = append(writeTo2, at[0].Sub(t0))
		writeToAll = append(writeToAll, latest(at).Sub(t0))
		time.Sleep(50 * time.Millisecond)
	}
	bare, err := bareWatchLatency(ctx, st, 20)
	if err != nil {
		b.Fatal(err)
	}
	base := summarize(bare)
	row := func(path string, d []time.Duration) []string {
		s := summarize(d)
		return []string{source, path, strconv.Itoa(s.n), ms(s.p50), ms(s.p90), ms(s.max), ratio(s.p50, base.p50)}
	}
	w2 := summarize(writeToAll)
	b.ReportMetric(float64(w2.p50.Microseconds())/1000, "ms-write-to-all-p50")
	return [][]string{
		append(row("CNI ADD duration on node1 (for context)", addDur)[:6], "-"),
		row("CNI ADD start -> route on node2", addTo2),
		row("CNI ADD start -> route on node2 and node3", addToAll),
		row("etcd write (block+affinity) -> route on node2", writeTo2),
		row("etcd write (block+affinity) -> route on node2 and node3", writeToAll),
		{source, "baseline: etcd write -> bare watch", strconv.Itoa(base.n), ms(base.p50), ms(base.p90), ms(base.max), "1.0x"},
	}
}

// startAll starts the agents of meshHosts in parallel (each waits for its first sync).
func startAll(b *testing.B, c *cluster.Cluster, o cluster.AgentOptions) {
	errs := make(chan error, len(meshHosts))
	for _, h := range meshHosts {
		go func() { _, err := c.StartAgent(h, o); errs <- err }()
	}
	for range meshHosts {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

// waitAll waits for dst on every watcher and returns the announcement times in order.
func waitAll(ws []*routeWatch, dst netip.Prefix, timeout time.Duration) ([]time.Time, error) {
	var out []time.Time
	for _, w := range ws {
		t, err := w.WaitFor(dst, timeout)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func latest(ts []time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// writeOwnBlock gives node a new empty block with a confirmed affinity in one transaction,
// as IPAM's claim ends up.
func writeOwnBlock(ctx context.Context, st *store.Client, node string, blk netip.Prefix) error {
	size := 1 << (32 - blk.Bits())
	aff := "host:" + node
	v := &ipam.Block{CIDR: blk.String(), Affinity: &aff, Allocations: make([]*int, size),
		Attributes: []ipam.AllocationAttrs{}, SeqForAlloc: map[string]uint64{}}
	for o := range size {
		v.Unallocated = append(v.Unallocated, o)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = st.Txn(ctx, store.Op{Key: store.BlockKey(blk.String()), Value: raw},
		store.Op{Key: store.AffinityKey(node, blk.String()), Value: []byte(`{"state":"confirmed","deleted":false}`)})
	if err != nil {
		return fmt.Errorf("writing block %s for %s: %w", blk, node, err)
	}
	return nil
}

// blockOf is the pool's /31 block holding ip.
func blockOf(ip netip.Addr) netip.Prefix { return netip.PrefixFrom(ip, 31).Masked() }

// countBlocks counts the IPv4 blocks in the datastore.
func countBlocks(ctx context.Context, st *store.Client) (int, error) {
	kvs, _, err := st.ListKV(ctx, store.BlockPrefix("ipv4"))
	return len(kvs), err
}
