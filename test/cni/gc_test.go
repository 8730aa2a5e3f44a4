package cnitest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// TestGCAndVersion: GC keeps the attachments the runtime lists and releases the others;
// VERSION lists the supported spec versions.
func TestGCAndVersion(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)
	cl := newCluster(t, "10.249.0.0/24", 26)
	conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.1.0"})
	ids := []string{"gckeep", "gcdrop"}
	for _, id := range ids {
		c := netnsAdd(t, "c")
		if r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: id, Netns: "/var/run/netns/" + c, Conf: conf}); r.err != nil {
			t.Fatalf("ADD %s: %v %s %s", id, r.err, r.stdout, r.stderr)
		}
	}
	conf["cni.dev/valid-attachments"] = []map[string]string{{"containerID": "gckeep", "ifname": "eth0"}}
	if r := cl.plugin(t, host, "calico", pluginCall{Command: "GC", Conf: conf}); r.err != nil {
		t.Fatalf("GC: %v %s %s", r.err, r.stdout, r.stderr)
	}
	ctx := context.Background()
	kvs, _, err := cl.sc.ListKV(ctx, store.HandleKey(""))
	if err != nil {
		t.Fatal(err)
	}
	var handles []string
	for _, kv := range kvs {
		handles = append(handles, strings.TrimPrefix(kv.Key, store.HandleKey("")))
	}
	if len(handles) != 1 || handles[0] != "bcni-net.gckeep" {
		t.Errorf("after GC want only handle bcni-net.gckeep, got %v", handles)
	}
	weps, _, _ := cl.sc.List(ctx, "WorkloadEndpoint", "")
	if len(weps) != 1 || !strings.Contains(weps[0].GetObjectMeta().Name, "gckeep") {
		t.Errorf("after GC want only gckeep's endpoint, got %d", len(weps))
	}

	r := cl.plugin(t, host, "calico", pluginCall{Command: "VERSION", Conf: conf})
	var v struct {
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || strings.Join(v.SupportedVersions, ",") != "0.3.0,0.3.1,0.4.0,1.0.0,1.1.0" {
		t.Errorf("VERSION: %v %q", err, r.stdout)
	}
}
