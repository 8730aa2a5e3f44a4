package node

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// Every kind the agent's watch delivers, in IPv4 and IPv6 and as garbage, goes through the
// agent's cache and every computation it feeds (routes, BGP peers, advertisements, Felix
// config) without a panic (issue 10 item 3: an IPv6 block crash-looped every agent). The
// records go through a real etcd and the agent's own watch, first as one snapshot, then as
// live changes turning good values bad and bad ones good.

const robustMe = "robust-a"

func res(plural string) string { return store.ResourcePrefix + plural + "/" }

// blockJSON is an IPAM block as Calico stores it, affine to node, with ordinal 1 held by a
// workload on holder.
func blockJSON(cidr, node, holder string) string {
	p := netip.MustParsePrefix(cidr)
	n := 1 << (p.Addr().BitLen() - p.Bits())
	allocs := make([]string, n)
	for i := range allocs {
		allocs[i] = "null"
	}
	allocs[1] = "0"
	return fmt.Sprintf(`{"cidr":%q,"affinity":"host:%s","allocations":[%s],"unallocated":[],"attributes":[{"handle_id":"h","secondary":{"node":%q}}],"sequenceNumber":1,"sequenceNumberForAllocation":{},"deleted":false}`,
		cidr, node, strings.Join(allocs, ","), holder)
}

func robustRecords() map[string]string {
	node := func(name, spec string) string {
		return `{"kind":"Node","apiVersion":"projectcalico.org/v3","metadata":{"name":"` + name + `"},"spec":` + spec + `}`
	}
	kind := func(k, name, spec string) string {
		return `{"kind":"` + k + `","apiVersion":"projectcalico.org/v3","metadata":{"name":"` + name + `"},"spec":` + spec + `}`
	}
	wep := func(name, ip string) string {
		return `{"kind":"WorkloadEndpoint","apiVersion":"projectcalico.org/v3","metadata":{"name":"` + name + `","namespace":"default"},` +
			`"spec":{"orchestrator":"cni","node":"` + robustMe + `","containerID":"c","endpoint":"eth0","interfaceName":"cali` + name + `","ipNetworks":["` + ip + `"]}}`
	}
	ipam := store.IPAMPrefix
	return map[string]string{
		res("nodes") + robustMe:    node(robustMe, `{"bgp":{"ipv4Address":"10.0.0.1/24","ipv6Address":"fd00::1/64","ipv4IPIPTunnelAddr":"10.244.0.1"},"ipv4VXLANTunnelAddr":"10.244.0.2","ipv6VXLANTunnelAddr":"fd00:244::2"}`),
		res("nodes") + "robust-b":  node("robust-b", `{"bgp":{"ipv4Address":"10.0.0.2/24","ipv6Address":"fd00::2/64"},"ipv4VXLANTunnelAddr":"10.244.1.2"}`),
		res("nodes") + "robust-v6": node("robust-v6", `{"bgp":{"ipv6Address":"fd00::3/64"},"ipv6VXLANTunnelAddr":"fd00:244::3"}`),
		res("nodes") + "robust-x":  node("robust-x", `{"bgp":{"ipv4Address":"fd00::4/64","ipv4IPIPTunnelAddr":"fd00::5"},"ipv4VXLANTunnelAddr":"fd00::6"}`),
		res("nodes") + "garbage":   "{",

		res("ippools") + "v4":      kind("IPPool", "v4", `{"cidr":"10.244.0.0/16","blockSize":26,"ipipMode":"Always","natOutgoing":true,"nodeSelector":"all()"}`),
		res("ippools") + "v4vx":    kind("IPPool", "v4vx", `{"cidr":"10.245.0.0/16","blockSize":26,"vxlanMode":"CrossSubnet","nodeSelector":"all()"}`),
		res("ippools") + "v6":      kind("IPPool", "v6", `{"cidr":"fd00:10::/112","blockSize":122,"natOutgoing":true,"nodeSelector":"all()"}`),
		res("ippools") + "v6vx":    kind("IPPool", "v6vx", `{"cidr":"fd00:20::/112","blockSize":122,"vxlanMode":"Always","nodeSelector":"all()"}`),
		res("ippools") + "garbage": "",

		res("workloadendpoints") + "default/w4":      wep("w4", "10.244.0.5/32"),
		res("workloadendpoints") + "default/w6":      wep("w6", "fd00:10::5/128"),
		res("workloadendpoints") + "default/garbage": "{{",

		res("bgppeers") + "p4":      kind("BGPPeer", "p4", `{"peerIP":"10.0.0.254","asNumber":64512}`),
		res("bgppeers") + "p6":      kind("BGPPeer", "p6", `{"peerIP":"fd00::fe","asNumber":64513}`),
		res("bgppeers") + "garbage": "[",

		res("bgpconfigurations") + "default":            kind("BGPConfiguration", "default", `{"asNumber":64512,"nodeToNodeMeshEnabled":true,"serviceClusterIPs":[{"cidr":"fd00:96::/112"},{"cidr":"10.96.0.0/12"}]}`),
		res("bgpconfigurations") + "node." + robustMe:   "nope",
		res("felixconfigurations") + "default":          kind("FelixConfiguration", "default", `{"vxlanMTU":1400,"ipipMTU":1420}`),
		res("felixconfigurations") + "node." + robustMe: "{",

		ipam + "assignment/ipv4/block/10.244.0.0-26":   blockJSON("10.244.0.0/26", robustMe, "robust-b"),
		ipam + "assignment/ipv4/block/10.244.0.64-26":  blockJSON("10.244.0.64/26", "robust-b", robustMe),
		ipam + "assignment/ipv4/block/10.245.0.0-26":   blockJSON("10.245.0.0/26", "robust-b", "robust-b"),
		ipam + "assignment/ipv6/block/fd00:10::-122":   blockJSON("fd00:10::/122", robustMe, "robust-b"),
		ipam + "assignment/ipv6/block/fd00:10::40-122": blockJSON("fd00:10::40/122", "robust-b", robustMe),
		ipam + "assignment/ipv6/block/fd00:20::-122":   blockJSON("fd00:20::/122", "robust-v6", "robust-v6"),
		ipam + "assignment/ipv4/block/10.244.1.0-26":   "garbage",
		ipam + "assignment/ipv6/block/fd00:10::80-122": ` {"allocations":"not a list"}`,
		ipam + "assignment/ipv4/block/not-a-cidr":      blockJSON("10.244.2.0/26", "robust-b", "robust-b"),

		ipam + "host/" + robustMe + "/ipv4/block/10.244.0.0-26":   `{"state":"confirmed"}`,
		ipam + "host/" + robustMe + "/ipv6/block/fd00:10::-122":   `{"state":"confirmed"}`,
		ipam + "host/" + robustMe + "/ipv4/block/10.244.3.0-26":   "",
		ipam + "host/" + robustMe + "/ipv6/block/fd00:10::c0-122": "{",
	}
}

// robustAgent is the agent's cache and computations, fed by its own watch.
type robustAgent struct {
	t     *testing.T
	c     *cache
	log   *zap.Logger
	batch <-chan store.Batch
}

func (a *robustAgent) computeAll() calc.Desired {
	for _, fromBGP := range []bool{true, false} {
		a.c.state.RoutesFromBGP = fromBGP
		a.c.state.SetLearnedRoute(calc.LearnedRoute{Dst: netip.MustParsePrefix("fd00:10::40/122"), NextHop: netip.MustParseAddr("fd00::2")})
		a.c.state.SetLearnedRoute(calc.LearnedRoute{Dst: netip.MustParsePrefix("10.244.0.64/26"), NextHop: netip.MustParseAddr("10.0.0.2")})
		want := calc.Compute(a.c.state)
		a.c.skips.report(a.log, want.Skipped)
		peers := calc.ComputeBGP(a.c.bgpInput())
		_ = bgp.PeersFromCalc(peers.Peers)
		ads, _ := calc.ComputeBGPAdvertisements(a.c.exportInput())
		_ = bgp.AdvertisementsFromCalc(ads)
		_ = a.c.felixConfig()
		_, _, _, _ = a.c.takeChanges()
		if !fromBGP {
			return want
		}
	}
	panic("unreachable")
}

// until applies batches until the watch has delivered revision rev on every prefix. Each
// prefix is its own etcd watch stream, so one batch at rev does not mean the others have
// caught up: after rev is seen, batches are applied until none has come for a while (a sync
// point, not a timing assertion).
func (a *robustAgent) until(rev int64) calc.Desired {
	a.t.Helper()
	var d calc.Desired
	reached := false
	deadline := time.After(30 * time.Second)
	for {
		quiet := time.Hour
		if reached {
			quiet = time.Second
		}
		select {
		case b := <-a.batch:
			for _, ev := range b.Events {
				a.c.apply(ev)
			}
			d = a.computeAll()
			reached = reached || (b.InSync && b.Revision >= rev)
		case <-time.After(quiet):
			return d
		case <-deadline:
			a.t.Fatalf("watch did not reach revision %d", rev)
		}
	}
}

func hasRoute(d calc.Desired, dst string) bool {
	for _, r := range d.Routes {
		if r.Dst == netip.MustParsePrefix(dst) {
			return true
		}
	}
	return false
}

func TestEveryKindV4V6AndGarbageThroughTheAgent(t *testing.T) {
	_, setup := datastore.StartTest(t)
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := store.NewFromEtcd(setup.Etcd(), log)
	records := robustRecords()
	var rev int64
	for k, v := range records {
		r, err := sc.PutKV(ctx, k, []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		rev = max(rev, r)
	}
	a := &robustAgent{t: t, c: newCache(robustMe, true), log: log,
		batch: sc.Watch(ctx, store.WatchOptions{Prefixes: watchPrefixes(robustMe)})}
	a.c.report = sc.ReportBroken
	a.c.state.Uplink, a.c.state.UplinkMTU = "eth0", 1500

	d := a.until(rev)
	// IPv4 keeps working around everything else: the remote IPv4 block is routed.
	for _, dst := range []string{"10.244.0.64/26", "10.244.0.0/26"} {
		if !hasRoute(d, dst) {
			t.Errorf("IPv4 block %s not routed: %+v", dst, d.Routes)
		}
	}
	// IPv6 is routed too: the local IPv6 block's blackhole and the IPv6 workload's /128.
	for _, dst := range []string{"fd00:10::/122", "fd00:10::5/128"} {
		if !hasRoute(d, dst) {
			t.Errorf("IPv6 route %s missing: %+v", dst, d.Routes)
		}
	}
	// The IPv6 VXLAN pool's block goes through vxlan-v6.calico to robust-v6's IPv6 tunnel
	// address, although robust-v6 has no IPv4 address at all.
	if !hasRoute(d, "fd00:20::/122") || d.VXLANV6 == nil {
		t.Errorf("IPv6 VXLAN block not routed (device %+v): %+v", d.VXLANV6, d.Routes)
	}

	// Live: every good value turns bad and every bad one good (IPv6 where it can), then
	// everything is deleted. A block that turns bad is no longer routed.
	v6 := robustRecords()[res("ippools")+"v6"]
	for k, v := range records {
		nv := "garbage"
		if len(v) < 5 || !strings.HasPrefix(v, "{\"") {
			switch {
			case strings.Contains(k, "/block/") && strings.Contains(k, "ipv6/block/fd00"):
				nv = blockJSON(store.CIDRFromKeySuffix(k[strings.LastIndex(k, "/")+1:]), "robust-b", robustMe)
			case strings.Contains(k, "ippools"):
				nv = strings.ReplaceAll(v6, `"name":"v6"`, `"name":"garbage"`)
			default:
				nv = "{}"
			}
		}
		if r, err := sc.PutKV(ctx, k, []byte(nv)); err != nil {
			t.Fatal(err)
		} else {
			rev = max(rev, r)
		}
	}
	// The local block's blackhole depends on nothing but the block, so its going is the
	// block's value turning to garbage.
	if d := a.until(rev); hasRoute(d, "10.244.0.0/26") {
		t.Errorf("a block whose value turned to garbage still has its route")
	}
	if _, err := sc.Etcd().Delete(ctx, "/calico/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	_, rev, _ = sc.ListKV(ctx, "/calico/")
	if d := a.until(rev); len(d.Routes) != 0 {
		t.Errorf("routes left after every record was deleted: %+v", d.Routes)
	}

	// Each broken record was reported once, naming its key, however often it was seen.
	ipam := store.IPAMPrefix
	for _, k := range []string{
		res("nodes") + "garbage", res("ippools") + "garbage", res("workloadendpoints") + "default/garbage",
		res("bgppeers") + "garbage", res("bgpconfigurations") + "node." + robustMe, res("felixconfigurations") + "node." + robustMe,
		ipam + "assignment/ipv4/block/10.244.1.0-26", ipam + "assignment/ipv6/block/fd00:10::80-122",
		ipam + "host/" + robustMe + "/ipv6/block/fd00:10::c0-122",
	} {
		n := 0
		for _, e := range logs.FilterMessageSnippet("does not decode").All() {
			if e.ContextMap()["key"] == k {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: want one warning, got %d", k, n)
		}
	}
}
