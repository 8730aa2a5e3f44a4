package node

import (
	"io"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// scrape returns one unlabelled sample from the agent's /metrics handler (-1: absent).
func scrape(t *testing.T, m *agentMetrics, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`)
	sub := re.FindSubmatch(body)
	if sub == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(sub[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wepEvent(name, node, iface, ip string, del bool) store.Event {
	k, _ := api.LookupKind("WorkloadEndpoint")
	w := &api.WorkloadEndpoint{ObjectMeta: api.ObjectMeta{Name: name, Namespace: "default"}}
	w.Spec.Node, w.Spec.InterfaceName, w.Spec.IPNetworks = node, iface, []string{ip}
	ev := store.Event{Type: store.Updated, Key: store.ResourcePrefix + "workloadendpoints/default/" + name, Kind: k, Name: name, Resource: w}
	if del {
		ev.Type, ev.Resource = store.Deleted, nil
	}
	return ev
}

// The loop moves felix's gauges: local and cluster endpoints, hosts, apply time and resyncs.
func TestMetricsFollowTheLoop(t *testing.T) {
	b := newLoopBed(t, nil, true)
	b.run(t)
	b.sync()
	waitFor(t, "readiness", b.ready)
	m := b.a.metrics
	if v := scrape(t, m, "felix_active_local_endpoints"); v != 0 {
		t.Errorf("felix_active_local_endpoints = %v before any workload", v)
	}
	if v := scrape(t, m, "felix_resyncs_started"); v != 1 {
		t.Errorf("felix_resyncs_started = %v, want 1", v)
	}
	b.batches <- store.Batch{InSync: true, Revision: 2, Events: []store.Event{
		wepEvent("w1", "n1", "cali1", "10.65.0.1/32", false),
		wepEvent("w2", "n2", "cali2", "10.65.0.2/32", false)}}
	b.batches <- store.Batch{InSync: true, Revision: 2} // handshake: the batch was handled
	if v := scrape(t, m, "felix_active_local_endpoints"); v != 1 {
		t.Errorf("felix_active_local_endpoints = %v, want 1", v)
	}
	if v := scrape(t, m, "felix_cluster_num_workload_endpoints"); v != 2 {
		t.Errorf("felix_cluster_num_workload_endpoints = %v, want 2", v)
	}
	if v := scrape(t, m, "felix_cluster_num_hosts"); v != 1 {
		t.Errorf("felix_cluster_num_hosts = %v, want 1", v)
	}
	if v := scrape(t, m, "felix_int_dataplane_apply_time_seconds_count"); v < 2 {
		t.Errorf("felix_int_dataplane_apply_time_seconds_count = %v, want >= 2", v)
	}
	if v := scrape(t, m, "brindle_sync_latency_seconds_count"); v < 1 {
		t.Errorf("brindle_sync_latency_seconds_count = %v, want >= 1", v)
	}
	b.batches <- store.Batch{InSync: true, Revision: 3, Events: []store.Event{wepEvent("w1", "n1", "", "", true)}}
	b.batches <- store.Batch{InSync: true, Revision: 3}
	if v := scrape(t, m, "felix_active_local_endpoints"); v != 0 {
		t.Errorf("felix_active_local_endpoints = %v after the delete, want 0", v)
	}
	b.dp.apply.set(errBoom)
	b.batches <- store.Batch{InSync: true, Revision: 4, Events: []store.Event{wepEvent("w3", "n1", "cali3", "10.65.0.3/32", false)}}
	waitFor(t, "a counted dataplane failure", func() bool { return scrape(t, m, "felix_int_dataplane_failures") >= 1 })
}
