package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/brindle-net/brindle/api"
)

// An endpoint as the CNI plugin writes it (labels at creation from BRINDLE_LABELS).
const cniWEPYAML = `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata:
  name: node1-cni-abc-eth0
  namespace: team1
  labels:
    app: web
    projectcalico.org/namespace: team1
    projectcalico.org/orchestrator: cni
spec:
  orchestrator: cni
  node: node1
  containerID: abc
  endpoint: eth0
  ipNetworks: [10.244.154.0/32]
  profiles: [calico-peer-test]
  interfaceName: caliabc
  mac: "36:11:68:19:19:aa"
`

func getWEP(t *testing.T, e *cliEnv) *api.WorkloadEndpoint {
	t.Helper()
	r, err := e.store.Get(context.Background(), "WorkloadEndpoint", "team1", "node1-cni-abc-eth0")
	if err != nil {
		t.Fatal(err)
	}
	return r.(*api.WorkloadEndpoint)
}

func specJSON(w *api.WorkloadEndpoint) string { b, _ := json.Marshal(w.Spec); return string(b) }

// Issue 11 item 4: a workload's labels change after creation with `label` or `apply`, as with
// calicoctl; the rest of the record stays as the CNI plugin wrote it.
func TestLabelWorkloadEndpoint(t *testing.T) {
	e := newCLIEnv(t)
	e.ok(cniWEPYAML, "create", "-f", "-")
	orig := getWEP(t, e)

	if got := e.ok("", "label", "workloadendpoint", "node1-cni-abc-eth0", "tier=front", "-n", "team1"); got !=
		"Successfully set label tier on workloadendpoints node1-cni-abc-eth0\n" {
		t.Errorf("label printed %q", got)
	}
	e.ok("", "label", "wep", "node1-cni-abc-eth0", "app=db", "--overwrite", "--namespace=team1")
	// Namespaced: without -n the endpoint is looked for in default.
	if msg := e.fails("", "label", "wep", "node1-cni-abc-eth0", "x=y"); !strings.Contains(msg, "not exist") && !strings.Contains(msg, "not found") {
		t.Errorf("label in the wrong namespace: %q", msg)
	}
	// Calico's two labels come back on every write, so policy keeps the namespace.
	e.ok("", "label", "wep", "node1-cni-abc-eth0", "projectcalico.org/namespace-", "-n", "team1")

	w := getWEP(t, e)
	want := api.Labels{"app": "db", "tier": "front", "projectcalico.org/namespace": "team1", "projectcalico.org/orchestrator": "cni"}
	if fmt.Sprint(w.Labels) != fmt.Sprint(want) {
		t.Errorf("labels %v, want %v", w.Labels, want)
	}
	if specJSON(w) != specJSON(orig) || w.UID != orig.UID || w.CreationTimestamp != orig.CreationTimestamp {
		t.Errorf("label changed more than labels:\n%s\n%s", specJSON(orig), specJSON(w))
	}

	// apply of the edited record, as `brindle get wep -o yaml` printed it.
	edited := strings.Replace(cniWEPYAML, "    app: web\n", "    app: cache\n    stage: beta\n", 1)
	e.ok(edited, "apply", "-f", "-")
	w = getWEP(t, e)
	if w.Labels["app"] != "cache" || w.Labels["stage"] != "beta" || w.Labels["projectcalico.org/namespace"] != "team1" {
		t.Errorf("labels after apply: %v", w.Labels)
	}
	if msg := e.fails(strings.Replace(cniWEPYAML, "app: web", "app: we b", 1), "apply", "-f", "-"); !strings.Contains(msg, "metadata.labels[app]") {
		t.Errorf("bad label on apply: %q", msg)
	}

	// Concurrent label commands all land: each is a read-modify-CAS with retries.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.run("label", "wep", "node1-cni-abc-eth0", fmt.Sprintf("k%d=v", i), "-n", "team1").err
		}()
	}
	wg.Wait()
	w = getWEP(t, e)
	for i, err := range errs {
		if err != nil || w.Labels[fmt.Sprintf("k%d", i)] != "v" {
			t.Errorf("concurrent label k%d: %v (labels %v)", i, err, w.Labels)
		}
	}
}
