package cnitest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

type cniError struct {
	Code uint   `json:"code"`
	Msg  string `json:"msg"`
}

// wantError asserts a failed call printed CNI error JSON with the code and a message
// containing want.
func wantError(t *testing.T, r runResult, code uint, want string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("want failure code %d, got success: %s", code, r.stdout)
	}
	var e cniError
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("stdout is not CNI error JSON: %v: %q (stderr %s)", err, r.stdout, r.stderr)
	}
	if e.Code != code || !strings.Contains(e.Msg, want) {
		t.Fatalf("want code %d with %q, got %d %q", code, want, e.Code, e.Msg)
	}
}

// assertClean: no cali links on the host, no eth0 in the container, nothing in IPAM.
func assertClean(t *testing.T, cl *cluster, host, cont string) {
	t.Helper()
	if out := mustIP(t, host, "link", "show"); strings.Contains(out, "cali") {
		t.Errorf("host veth left behind:\n%s", out)
	}
	if out := mustIP(t, cont, "link", "show"); strings.Contains(out, "eth0") {
		t.Errorf("container interface left behind:\n%s", out)
	}
	assertNoAllocations(t, cl)
	kvs, _, _ := cl.sc.ListKV(context.Background(), "/calico/ipam/v2/assignment/")
	for _, kv := range kvs {
		if strings.Contains(string(kv.Value), `"handle_id"`) && strings.Contains(string(kv.Value), "bcni-net.") {
			t.Errorf("allocation left in block %s: %s", kv.Key, kv.Value)
		}
	}
}

func TestFailuresLeaveNothing(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)

	t.Run("invalid conf", func(t *testing.T) {
		cl := newCluster(t, "10.245.0.0/24", 26)
		cont := netnsAdd(t, "c")
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0", "datastore_type": "kubernetes", "mtu": 70000})
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "bad1", Netns: "/var/run/netns/" + cont, Conf: conf})
		wantError(t, r, 7, "datastore_type")
		if !strings.Contains(r.stdout, "mtu") {
			t.Errorf("error should also name mtu: %s", r.stdout)
		}
		assertClean(t, cl, host, cont)
	})

	t.Run("bad CNI_ARGS", func(t *testing.T) {
		cl := newCluster(t, "10.245.0.0/24", 26)
		cont := netnsAdd(t, "c")
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0"})
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "bad2", Netns: "/var/run/netns/" + cont, Conf: conf,
			Args: "K8S_POD_NAMESPACE=Bad/NS;K8S_POD_NAME=p"})
		wantError(t, r, 4, "K8S_POD_NAMESPACE")
		assertClean(t, cl, host, cont)
	})

	t.Run("IPAM exhausted", func(t *testing.T) {
		// A /30 pool with /30 blocks holds four addresses: the fifth ADD must fail cleanly.
		cl := newCluster(t, "10.246.0.0/30", 30)
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0"})
		var conts []string
		for i := 0; i < 4; i++ {
			c := netnsAdd(t, "c")
			conts = append(conts, c)
			r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "full" + itoa(i), Netns: "/var/run/netns/" + c, Conf: conf})
			if r.err != nil {
				t.Fatalf("ADD %d: %v %s %s", i, r.err, r.stdout, r.stderr)
			}
		}
		last := netnsAdd(t, "c")
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "full9", Netns: "/var/run/netns/" + last, Conf: conf})
		wantError(t, r, 102, "")
		if out := mustIP(t, last, "link", "show"); strings.Contains(out, "eth0") {
			t.Errorf("exhausted ADD left eth0")
		}
		if out := mustIP(t, host, "link", "show"); strings.Contains(out, "califull9") {
			t.Errorf("exhausted ADD left its host veth")
		}
		for i, c := range conts {
			if r := cl.plugin(t, host, "calico", pluginCall{Command: "DEL", ContainerID: "full" + itoa(i), Netns: "/var/run/netns/" + c, Conf: conf}); r.err != nil {
				t.Fatalf("DEL %d: %v %s", i, r.err, r.stdout)
			}
		}
		assertClean(t, cl, host, last)
	})

	t.Run("datastore write fails after wiring", func(t *testing.T) {
		// "bcni_net" is a valid CNI network name but not a valid Profile name, so the
		// datastore write after IPAM and the veth fails; both must be undone.
		cl := newCluster(t, "10.247.0.0/24", 26)
		cont := netnsAdd(t, "c")
		conf := cl.calicoConf(map[string]any{"name": "bcni_net", "cniVersion": "1.0.0"})
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "wf1", Netns: "/var/run/netns/" + cont, Conf: conf})
		wantError(t, r, 100, "")
		assertClean(t, cl, host, cont)
	})

	t.Run("datastore down", func(t *testing.T) {
		cl := newCluster(t, "10.247.0.0/24", 26)
		cont := netnsAdd(t, "c")
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0"})
		cl.srv.Close()
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "down1", Netns: "/var/run/netns/" + cont, Conf: conf})
		wantError(t, r, 11, "etcd")
		if out := mustIP(t, cont, "link", "show"); strings.Contains(out, "eth0") {
			t.Errorf("ADD with etcd down left eth0")
		}
		if out := mustIP(t, host, "link", "show"); strings.Contains(out, "calidown1") {
			t.Errorf("ADD with etcd down left its host veth")
		}
	})

	t.Run("datastore not ready", func(t *testing.T) {
		cl := newCluster(t, "10.248.0.0/24", 26)
		cont := netnsAdd(t, "c")
		setReady(t, cl, false)
		conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.1.0"})
		r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "nr1", Netns: "/var/run/netns/" + cont, Conf: conf})
		wantError(t, r, 50, "not ready")
		r = cl.plugin(t, host, "calico", pluginCall{Command: "STATUS", Conf: conf})
		wantError(t, r, 50, "datastoreReady")
		setReady(t, cl, true)
		if r := cl.plugin(t, host, "calico", pluginCall{Command: "STATUS", Conf: conf}); r.err != nil {
			t.Errorf("STATUS when ready: %v %s", r.err, r.stdout)
		}
		assertClean(t, cl, host, cont)
	})
}

func setReady(t *testing.T, cl *cluster, ready bool) {
	t.Helper()
	ctx := context.Background()
	r, err := cl.sc.Get(ctx, "ClusterInformation", "", "default")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["spec"].(map[string]any)["datastoreReady"] = ready
	b, _ = json.Marshal(m)
	if err := json.Unmarshal(b, r); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.sc.Update(ctx, r); err != nil {
		t.Fatal(err)
	}
}
