package cnitest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// getWEP reads an endpoint record as stored.
func getWEP(t *testing.T, cl *cluster, ns, name string) *api.WorkloadEndpoint {
	t.Helper()
	r, err := cl.sc.Get(context.Background(), "WorkloadEndpoint", ns, name)
	if err != nil {
		t.Fatalf("WorkloadEndpoint %s/%s: %v", ns, name, err)
	}
	return r.(*api.WorkloadEndpoint)
}

func addOK(t *testing.T, cl *cluster, host string, p pluginCall) cniResult {
	t.Helper()
	p.Command = "ADD"
	r := cl.plugin(t, host, "calico", p)
	if r.err != nil {
		t.Fatalf("ADD %s: %v %s %s", p.ContainerID, r.err, r.stdout, r.stderr)
	}
	var res cniResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.Interfaces) == 0 {
		t.Fatalf("ADD %s result: %v %q", p.ContainerID, err, r.stdout)
	}
	return res
}

func delOK(t *testing.T, cl *cluster, host string, p pluginCall) runResult {
	t.Helper()
	p.Command = "DEL"
	r := cl.plugin(t, host, "calico", p)
	if r.err != nil {
		t.Fatalf("DEL %s: %v %s %s", p.ContainerID, r.err, r.stdout, r.stderr)
	}
	return r
}

// Container runtimes' CNI habits (issue 10 item 7; calico-policy.md §7).
func TestRuntimeHabits(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)
	cl := newCluster(t, "10.249.0.0/24", 26)
	conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0"})

	t.Run("podman passes K8S_POD_NAME without Kubernetes", func(t *testing.T) {
		// podman 4 passes its container name, often with '_', as K8S_POD_NAME. Without a
		// Kubernetes conf that is ignored: Calico's cni naming, namespace default.
		id := strings.Repeat("0123456789abcdef", 4)
		cont := netnsAdd(t, "c")
		p := pluginCall{ContainerID: id, Netns: "/var/run/netns/" + cont, Conf: conf, Args: "IgnoreUnknown=1;K8S_POD_NAME=ecstatic_hawking"}
		res := addOK(t, cl, host, p)
		if res.Interfaces[0].Name != "cali0123456789a" {
			t.Errorf("host veth %s, want cali0123456789a", res.Interfaces[0].Name)
		}
		w := getWEP(t, cl, "default", api.WorkloadEndpointName(nodeName, "cni", id, "eth0"))
		if w.Spec.Orchestrator != "cni" || w.Spec.Pod != "" || w.Labels["projectcalico.org/orchestrator"] != "cni" {
			t.Errorf("endpoint: orchestrator %q pod %q labels %v", w.Spec.Orchestrator, w.Spec.Pod, w.Labels)
		}
		delOK(t, cl, host, p)
		assertClean(t, cl, host, cont)
	})

	t.Run("Kubernetes naming when the conf is Kubernetes'", func(t *testing.T) {
		kconf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0", "kubernetes": map[string]any{"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}})
		cont := netnsAdd(t, "c")
		p := pluginCall{ContainerID: "k8s1", Netns: "/var/run/netns/" + cont, Conf: kconf, Args: "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-1"}
		res := addOK(t, cl, host, p)
		sum := sha1.Sum([]byte("ns1.web-1"))
		if want := "cali" + hex.EncodeToString(sum[:])[:11]; res.Interfaces[0].Name != want {
			t.Errorf("host veth %s, want %s", res.Interfaces[0].Name, want)
		}
		w := getWEP(t, cl, "ns1", api.WorkloadEndpointName(nodeName, "k8s", "web-1", "eth0"))
		if w.Spec.Orchestrator != "k8s" || w.Spec.Pod != "web-1" {
			t.Errorf("endpoint: orchestrator %q pod %q", w.Spec.Orchestrator, w.Spec.Pod)
		}
		delOK(t, cl, host, p)

		// There a pod name must be a DNS name, as in Calico.
		p = pluginCall{Command: "ADD", ContainerID: "k8s2", Netns: "/var/run/netns/" + cont, Conf: kconf, Args: "K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=ecstatic_hawking"}
		wantError(t, cl.plugin(t, host, "calico", p), 4, "K8S_POD_NAME")
		assertClean(t, cl, host, cont)
	})

	t.Run("nerdctl: DEL before ADD, IDs <namespace>-<id>", func(t *testing.T) {
		ids := []string{"default-abc" + strings.Repeat("0", 60) + "1", "default-abc" + strings.Repeat("0", 60) + "2"}
		var conts []string
		veths := map[string]bool{}
		for _, id := range ids {
			cont := netnsAdd(t, "c")
			conts = append(conts, cont)
			p := pluginCall{ContainerID: id, Netns: "/var/run/netns/" + cont, Conf: conf, Args: "IgnoreUnknown=1;NERDCTL_CNI_DHCP_HOSTNAME=h1"}
			// DEL of a container never added: success, nothing on stdout, nothing logged.
			r := delOK(t, cl, host, p)
			if r.stdout != "" || strings.TrimSpace(r.stderr) != "" {
				t.Errorf("DEL of an unknown container: want silence at log level info, got stdout %q stderr %q", r.stdout, r.stderr)
			}
			res := addOK(t, cl, host, p)
			veths[res.Interfaces[0].Name] = true
		}
		// Calico's "cali"+ID[:11] would name both "calidefault-abc", the second ADD
		// deleting the first container's veth.
		if len(veths) != 2 {
			t.Fatalf("two containers share a host veth name: %v", veths)
		}
		out := mustIP(t, host, "link", "show")
		for v := range veths {
			if !strings.Contains(out, v+"@") {
				t.Errorf("host veth %s missing after both ADDs:\n%s", v, out)
			}
		}
		for i, id := range ids {
			delOK(t, cl, host, pluginCall{ContainerID: id, Netns: "/var/run/netns/" + conts[i], Conf: conf})
		}
		assertClean(t, cl, host, conts[0])
	})
}

// Labels at creation and the per-network profile (issue 11 item 4).
func TestWorkloadLabelsAndProfiles(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)
	cl := newCluster(t, "10.250.0.0/24", 26)
	conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0",
		"args": map[string]any{"cni": map[string]any{"labels": []map[string]string{{"key": "env", "value": "prod"}}}}})

	t.Run("labels and namespace from the call", func(t *testing.T) {
		cont := netnsAdd(t, "c")
		p := pluginCall{ContainerID: "lab1", Netns: "/var/run/netns/" + cont, Conf: conf,
			Args: "IgnoreUnknown=1;K8S_POD_NAMESPACE=team1;BRINDLE_LABELS=app=web,tier=front"}
		addOK(t, cl, host, p)
		w := getWEP(t, cl, "team1", api.WorkloadEndpointName(nodeName, "cni", "lab1", "eth0"))
		want := api.Labels{"app": "web", "tier": "front", "env": "prod",
			"projectcalico.org/namespace": "team1", "projectcalico.org/orchestrator": "cni"}
		if len(w.Labels) != len(want) {
			t.Errorf("labels %v, want %v", w.Labels, want)
		}
		for k, v := range want {
			if got, ok := w.Labels[k]; !ok || got != v {
				t.Errorf("label %s = %q, want %q (all: %v)", k, got, v, w.Labels)
			}
		}
		delOK(t, cl, host, p)
		assertClean(t, cl, host, cont)
	})

	t.Run("a bad label fails ADD and leaves nothing", func(t *testing.T) {
		cont := netnsAdd(t, "c")
		for _, args := range []string{"BRINDLE_LABELS=app=we b", "BRINDLE_LABELS=projectcalico.org/namespace=kube-system"} {
			r := cl.plugin(t, host, "calico", pluginCall{Command: "ADD", ContainerID: "lab2", Netns: "/var/run/netns/" + cont, Conf: conf, Args: args})
			wantError(t, r, 4, "labels[")
			assertClean(t, cl, host, cont)
			// The runtime's DEL after the refused ADD succeeds.
			delOK(t, cl, host, pluginCall{ContainerID: "lab2", Netns: "/var/run/netns/" + cont, Conf: conf, Args: args})
		}
	})

	t.Run("per-network profile exactly as Calico's, created once, never updated", func(t *testing.T) {
		ctx := context.Background()
		k, _ := api.LookupKind("Profile")
		// Calico's stored spec (calico-cni-observed.md), for each network name.
		wantSpec := func(net string) string {
			return `{"ingress":[{"action":"Allow","source":{"selector":"has(` + net + `)"},"destination":{}}],"egress":[{"action":"Allow","source":{},"destination":{}}],"labelsToApply":{"` + net + `":""}}`
		}
		for _, net := range []string{"bcni-net", "bcni-net2"} {
			cont := netnsAdd(t, "c")
			c := cl.calicoConf(map[string]any{"name": net, "cniVersion": "1.0.0"})
			p := pluginCall{ContainerID: "prof-" + net, Netns: "/var/run/netns/" + cont, Conf: c}
			addOK(t, cl, host, p)
			kv, err := cl.sc.GetKV(ctx, store.ResourceKey(k, "", net))
			if err != nil {
				t.Fatalf("profile %s: %v", net, err)
			}
			var doc struct {
				Spec json.RawMessage `json:"spec"`
			}
			_ = json.Unmarshal(kv.Value, &doc)
			if string(doc.Spec) != wantSpec(net) {
				t.Errorf("profile %s spec:\n got %s\nwant %s", net, doc.Spec, wantSpec(net))
			}
			w := getWEP(t, cl, "default", api.WorkloadEndpointName(nodeName, "cni", "prof-"+net, "eth0"))
			if len(w.Spec.Profiles) != 1 || w.Spec.Profiles[0] != net {
				t.Errorf("endpoint profiles %v, want [%s]", w.Spec.Profiles, net)
			}
			delOK(t, cl, host, p)
		}
		// A profile the operator changed is left alone by later ADDs.
		r, _ := cl.sc.Get(ctx, "Profile", "", "bcni-net2")
		prof := r.(*api.Profile)
		prof.Spec.Ingress = []api.Rule{{Action: "Allow"}}
		if _, err := cl.sc.Update(ctx, prof); err != nil {
			t.Fatal(err)
		}
		before, _ := cl.sc.GetKV(ctx, store.ResourceKey(k, "", "bcni-net2"))
		cont := netnsAdd(t, "c")
		p := pluginCall{ContainerID: "prof3", Netns: "/var/run/netns/" + cont, Conf: cl.calicoConf(map[string]any{"name": "bcni-net2", "cniVersion": "1.0.0"})}
		addOK(t, cl, host, p)
		after, _ := cl.sc.GetKV(ctx, store.ResourceKey(k, "", "bcni-net2"))
		if after.ModRevision != before.ModRevision {
			t.Errorf("ADD rewrote an existing profile: %s", after.Value)
		}
		delOK(t, cl, host, p)
		assertClean(t, cl, host, cont)
	})
}
