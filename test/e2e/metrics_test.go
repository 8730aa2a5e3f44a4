package e2e

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// waitMetric scrapes until series satisfies want; it returns the last scrape.
func waitMetric(t *testing.T, a *cluster.Agent, port int, series string, want func(float64) bool) string {
	t.Helper()
	var body string
	err := cluster.WaitFor(30*time.Second, series+" on "+a.Host.HostName, func() (bool, string) {
		var err error
		body, err = a.Scrape(port)
		if err != nil {
			return false, err.Error()
		}
		v, ok := cluster.Metric(body, series)
		return ok && want(v), fmt.Sprintf("%s = %v (present %v)", series, v, ok)
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func eq(n float64) func(float64) bool { return func(v float64) bool { return v == n } }

// Metrics scraped from running agents move with the cluster: a container added on node1
// raises felix_active_local_endpoints there (not on node2), the routes programmed and the
// pool's addresses in use; BGP sessions show as Established; Felix's own metrics port opens
// when the FelixConfiguration enables it; the log level changes on SIGUSR1.
func TestMetricsFromRunningAgents(t *testing.T) {
	c := startCluster(t, oneSubnet())
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{}, "node1", "node2")
	a1, a2 := c.Agent("node1"), c.Agent("node2")
	port := cluster.HealthPort

	before := waitMetric(t, a1, port, `brindle_bgp_peers{state="Established"}`, eq(1))
	if v, _ := cluster.Metric(before, "felix_active_local_endpoints"); v != 0 {
		t.Fatalf("felix_active_local_endpoints = %v before any container", v)
	}
	routesBefore, _ := cluster.Metric(before, "brindle_routes_programmed")
	if v, _ := cluster.Metric(before, "felix_cluster_num_hosts"); v != 2 {
		t.Errorf("felix_cluster_num_hosts = %v, want 2", v)
	}

	ct := addContainer(t, c, "node1", "m1")
	after := waitMetric(t, a1, port, "felix_active_local_endpoints", eq(1))
	waitMetric(t, a2, port, "felix_cluster_num_workload_endpoints", eq(1))
	if v, _ := cluster.Metric(after, "brindle_routes_programmed"); v <= routesBefore {
		after = waitMetric(t, a1, port, "brindle_routes_programmed", func(v float64) bool { return v > routesBefore })
	}
	after = waitMetric(t, a1, port, `brindle_ipam_addresses_in_use{pool="default-ipv4-ippool"}`, func(v float64) bool { return v >= 1 })
	if v, ok := cluster.Metric(after, "felix_int_dataplane_apply_time_seconds_count"); !ok || v < 2 {
		t.Errorf("felix_int_dataplane_apply_time_seconds_count = %v (%v)", v, ok)
	}
	if v, _ := cluster.Metric(after, "brindle_sync_latency_seconds_count"); v < 1 {
		t.Errorf("brindle_sync_latency_seconds_count = %v", v)
	}
	if body, err := a2.Scrape(port); err == nil {
		if v, _ := cluster.Metric(body, "felix_active_local_endpoints"); v != 0 {
			t.Errorf("node2's felix_active_local_endpoints = %v, want 0 (the container is on node1)", v)
		}
	}
	var lines []string
	for _, l := range strings.Split(after, "\n") {
		if strings.HasPrefix(l, "felix_") || strings.HasPrefix(l, "brindle_") {
			lines = append(lines, l)
		}
	}
	t.Logf("node1 /metrics (felix_ and brindle_ samples) after adding %s:\n%s", ct, strings.Join(lines, "\n"))
	if p := os.Getenv("BRINDLE_E2E_SCRAPE"); p != "" {
		_ = os.WriteFile(p, []byte(after), 0o644)
	}

	// prometheusMetricsEnabled opens Felix's port (9091 by default) as well.
	if err := c.Apply("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  prometheusMetricsEnabled: true\n"); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, a1, 9091, "felix_active_local_endpoints", eq(1))

	// A policy that selects the container is active on node1 only (felix counts policies
	// that apply to a local endpoint); the CNI network's profile counts as a profile.
	if v, _ := cluster.Metric(after, "felix_active_local_policies"); v != 0 {
		t.Errorf("felix_active_local_policies = %v before any policy", v)
	}
	if err := c.Apply("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: allow-all\nspec:\n  selector: all()\n  ingress: [{action: Allow}]\n  egress: [{action: Allow}]\n"); err != nil {
		t.Fatal(err)
	}
	pol := waitMetric(t, a1, port, "felix_active_local_policies", eq(1))
	if v, _ := cluster.Metric(pol, "brindle_active_local_profiles"); v < 1 {
		t.Errorf("brindle_active_local_profiles = %v, want the network's profile", v)
	}
	if body, err := a2.Scrape(port); err == nil {
		if v, _ := cluster.Metric(body, "felix_active_local_policies"); v != 0 {
			t.Errorf("node2's felix_active_local_policies = %v, want 0 (no local endpoint)", v)
		}
	}

	// SIGUSR1: debug logging without a restart.
	if err := syscall.Kill(a1.Proc.PID, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WaitFor(10*time.Second, "log level change", func() (bool, string) {
		return strings.Contains(a1.Proc.Logs(), "log level changed"), ""
	}); err != nil {
		t.Error(err)
	}

	if err := c.DelContainer(ct); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, a1, port, "felix_active_local_endpoints", eq(0))
}
