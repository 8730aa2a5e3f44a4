package nodebench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bench/internal/benchutil"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

const rrAS = 64512

// rrSetup is the seed's route-reflector layout (03: mesh off; 02: every node peers with the
// nodes labelled route-reflector; 01: the reflector's label and cluster ID), in this AS.
const rrSetup = `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
spec:
  nodeToNodeMeshEnabled: false
  asNumber: 64512
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata:
  name: peer-with-route-reflectors
spec:
  nodeSelector: all()
  peerSelector: route-reflector == "true"
`

func rrNode(addr netip.Prefix) string {
	return fmt.Sprintf(`apiVersion: projectcalico.org/v3
kind: Node
metadata:
  name: rr
  labels:
    route-reflector: "true"
spec:
  bgp:
    ipv4Address: %s
    routeReflectorClusterID: 224.0.0.1
`, addr)
}

func lcAddr(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{172, 30, byte(200 + k/250), byte(k%250 + 1)})
}

// rrClients is the number of light clients; BNB_RR_CLIENTS overrides the default 200.
func rrClients() int {
	if n, err := strconv.Atoi(os.Getenv("BNB_RR_CLIENTS")); err == nil && n > 0 {
		return n
	}
	return 200
}

// BenchmarkRRConvergence: one route-reflector agent (`node run`, BGP on) with two agent
// clients (node1 originates, node2's kernel is watched) and N light clients (GoBGP speakers
// in one helper process in their own namespace, each a Node in the datastore). Timed from the
// etcd write of node1's new block and affinity to node2's kernel route and to the learned
// queues of every light client. Baseline: etcd write -> bare watch.
func BenchmarkRRConvergence(b *testing.B) {
	ctx := context.Background()
	n := rrClients()
	c := startCluster(b, testbed.Options{Subnets: []netip.Prefix{fakeSubnet},
		Hosts: []testbed.HostOptions{{Name: "rr"}, {Name: "node1"}, {Name: "node2"}, {Name: "lc"}}})
	if err := c.Apply(poolYAML("bench-pool", benchPool.String(), 26, "Never", "Never")); err != nil {
		b.Fatal(err)
	}
	if err := c.Apply(rrSetup); err != nil {
		b.Fatal(err)
	}
	st, err := c.Store()
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := lcConfig{RR: c.Host("rr").Addr.Addr().String(), AS: rrAS}
	lcHost := c.Host("lc")
	for k := range n {
		a := lcAddr(k)
		cfg.Addrs = append(cfg.Addrs, a.String())
		if err := testbed.AddrUp(lcHost.Netns, lcHost.Uplink, netip.PrefixFrom(a, fakeSubnet.Bits())); err != nil {
			b.Fatal(err)
		}
	}
	if err := writeLightNodes(ctx, st, cfg.Addrs); err != nil {
		b.Fatal(err)
	}
	w, err := watchRoutes(c.Host("node2"), benchPool)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for _, h := range []string{"rr", "node1", "node2"} {
		if _, err := c.StartAgent(h, cluster.AgentOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Apply(rrNode(c.Host("rr").Addr)); err != nil {
		b.Fatal(err)
	}
	lc := startLightClients(b, lcHost, cfg)
	coldStart := time.Now()
	if err := lc.waitUp(n, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	up := time.Since(coldStart)

	var toNode2, toLC, toAll []time.Duration
	for k := range 21 {
		blk := remoteBlock(k)
		w.Reset()
		t0 := time.Now()
		if err := writeOwnBlock(ctx, st, "node1", blk); err != nil {
			b.Fatal(err)
		}
		at2, err := w.WaitFor(blk, 60*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		atLC, err := lc.waitAll(blk, n, 60*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if k == 0 {
			continue // warm-up: the first path also proves every session carries routes
		}
		toNode2 = append(toNode2, at2.Sub(t0))
		toLC = append(toLC, atLC.Sub(t0))
		toAll = append(toAll, latest([]time.Time{at2, atLC}).Sub(t0))
		time.Sleep(100 * time.Millisecond)
	}
	bare, err := bareWatchLatency(ctx, st, 20)
	if err != nil {
		b.Fatal(err)
	}
	base := summarize(bare)
	row := func(what string, d []time.Duration) []string {
		s := summarize(d)
		return []string{what, strconv.Itoa(s.n), ms(s.p50), ms(s.p90), ms(s.max), ratio(s.p50, base.p50)}
	}
	all := summarize(toAll)
	b.ReportMetric(float64(all.p50.Microseconds())/1000, "ms-to-all-p50")
	benchutil.Table(fmt.Sprintf("New block on node1 -> through one route-reflector agent -> %d light clients and node2's kernel (light clients up %s after their start)",
		n, up.Round(time.Millisecond)),
		[]string{"path", "n", "p50 ms", "p90 ms", "max ms", "ratio p50 to bare watch"}, [][]string{
			row("etcd write -> route in node2's kernel", toNode2),
			row(fmt.Sprintf("etcd write -> learned by all %d light clients", n), toLC),
			row("etcd write -> all of them", toAll),
			{"baseline: etcd write -> bare watch", strconv.Itoa(base.n), ms(base.p50), ms(base.p90), ms(base.max), "1.0x"},
		})
}

// writeLightNodes creates a Node per light client address (40 per transaction).
func writeLightNodes(ctx context.Context, st *store.Client, addrs []string) error {
	kind, _ := api.LookupKind("Node")
	var ops []store.Op
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		_, err := st.Txn(ctx, ops...)
		ops = nil
		return err
	}
	for k, a := range addrs {
		name := fmt.Sprintf("bnb-lc-%04d", k)
		nd := api.Node{TypeMeta: api.TypeMeta{Kind: "Node", APIVersion: api.Group},
			ObjectMeta: api.ObjectMeta{Name: name, Labels: api.Labels{"kubernetes.io/hostname": name}},
			Spec:       api.NodeSpec{BGP: &api.NodeBGPSpec{IPv4Address: a + "/" + strconv.Itoa(fakeSubnet.Bits())}}}
		raw, err := json.Marshal(&nd)
		if err != nil {
			return err
		}
		ops = append(ops, store.Op{Key: store.ResourceKey(kind, "", name), Value: raw})
		if len(ops) == 40 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
