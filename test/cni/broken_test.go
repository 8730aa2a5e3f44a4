package cnitest

import (
	"context"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// brokenRecords are values a careless etcdctl put leaves behind, at every kind of key an ADD
// or DEL reads: pools, nodes, endpoints, and the IPAM blocks, handles and affinities (the
// block and affinity at the CIDR the pool's first block would take, so allocation must step
// around them).
func brokenRecords(poolFirstBlock string) map[string]string {
	r := store.ResourcePrefix
	return map[string]string{
		r + "ippools/broken-pool":                   "",
		r + "ippools/half-pool":                     `{"kind":"IPPool","spec":{"cidr":`,
		r + "nodes/broken-node":                     "garbage",
		r + "workloadendpoints/default/broken-wep":  "{{",
		store.BlockKey(poolFirstBlock):              "not json",
		store.BlockKey("10.235.77.0/26"):            `{"cidr":"10.235.77.0/26","allocations":[1]}`,
		store.HandleKey("k8s-pod-network.junk"):     "xx",
		store.AffinityKey(nodeName, poolFirstBlock): "{",
		store.IPAMPrefix + "config":                 "]",
	}
}

// One broken record must not fail every ADD on every host (issue 10 item 3): the plugin lists
// pools, blocks, handles and affinities, and each listing skips what does not decode.
func TestBrokenRecordsDoNotFailAdd(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)
	cl := newCluster(t, "10.236.0.0/24", 26)
	ctx := context.Background()
	for k, v := range brokenRecords("10.236.0.0/26") {
		if _, err := cl.sc.PutKV(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// The ADD's own endpoint key holds garbage too: ADD replaces it, and when it turns to
	// garbage again, DEL removes it.
	ownWEP := store.ResourcePrefix + "workloadendpoints/default/bcni--node1-cni-broken1-eth0"
	if _, err := cl.sc.PutKV(ctx, ownWEP, []byte("{")); err != nil {
		t.Fatal(err)
	}
	conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0"})
	delete(conf, "mtu") // the MTU then comes from the pool listing, another path that lists
	cont := netnsAdd(t, "c")
	r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "broken1", Netns: "/var/run/netns/" + cont, Conf: conf})
	if r.err != nil {
		t.Fatalf("ADD with broken records in etcd: %v %s %s", r.err, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "10.236.0.") {
		t.Fatalf("ADD gave no address from the pool: %s", r.stdout)
	}
	ri := cl.plugin(t, host, "calico-ipam", pluginCall{Command: "ADD", ContainerID: "broken2", Netns: "/var/run/netns/none", Conf: conf})
	if ri.err != nil {
		t.Fatalf("IPAM ADD with broken records in etcd: %v %s %s", ri.err, ri.stdout, ri.stderr)
	}
	if kv, err := cl.sc.GetKV(ctx, ownWEP); err != nil || !strings.Contains(string(kv.Value), `"containerID":"broken1"`) {
		t.Fatalf("ADD did not replace its broken endpoint record: %v %v", kv, err)
	}
	if _, err := cl.sc.PutKV(ctx, ownWEP, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"broken1", "broken2"} {
		prog := "calico"
		if id == "broken2" {
			prog = "calico-ipam"
		}
		if r := cl.plugin(t, host, prog, pluginCall{Command: "DEL", ContainerID: id, Netns: "/var/run/netns/" + cont, Conf: conf}); r.err != nil {
			t.Fatalf("DEL %s: %v %s %s", id, r.err, r.stdout, r.stderr)
		}
	}
	if _, err := cl.sc.GetKV(ctx, ownWEP); err == nil {
		t.Errorf("DEL left its broken endpoint record")
	}
	for k := range brokenRecords("10.236.0.0/26") {
		_ = cl.sc.DeleteKV(ctx, k, 0)
	}
	assertClean(t, cl, host, cont)
}
