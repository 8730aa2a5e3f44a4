package node

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/calc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus metrics, served at /metrics on the health port and, when
// the FelixConfiguration enables it, on prometheusMetricsPort (node/metricsport.go). Where
// felix has a metric with the same meaning brindle uses felix's name and type, so existing
// dashboards keep working (felix/dataplane/linux/int_dataplane.go, felix/calc/
// calc_graph.go, felix/statusrep); brindle's own are prefixed brindle_.
//
// The loop is the only writer; the values it sets come from the cache and the last
// dataplane result, so a scrape never touches the loop's state. All methods accept a nil
// receiver, for roles and unit tests without metrics.
type agentMetrics struct {
	reg *prometheus.Registry

	applyTime        prometheus.Summary
	applyFailures    prometheus.Counter
	localEndpoints   prometheus.Gauge
	clusterHosts     prometheus.Gauge
	clusterEndpoints prometheus.Gauge
	resyncsStarted   prometheus.Counter

	routes, neighbours, nftElements prometheus.Gauge
	syncLatency                     prometheus.Histogram
	prefixesReceived, prefixesAdv   prometheus.Gauge
	ipamBlocks, ipamAddresses       *prometheus.GaugeVec
	watchResyncs                    prometheus.Counter
	errors                          *prometheus.CounterVec
	componentTime                   *prometheus.HistogramVec
	policy                          *policyMetrics // node/metrics_policy.go

	// Loop-owned bookkeeping for the cluster-wide counts the cache does not keep.
	mu         sync.Mutex
	weps       map[string]bool      // every WorkloadEndpoint key in the cluster
	blockUsed  map[netip.Prefix]int // addresses in use per IPAM block
	pending    []time.Time          // arrival of batches not yet in the kernel
	poolLabels map[string]bool      // pool label values last set
	lists      int                  // FromList batches seen
}

// newMetrics builds the registry; peers is the BGP status source (nil: no BGP metrics).
func newMetrics(peers bgpstatus.Source) *agentMetrics {
	m := &agentMetrics{reg: prometheus.NewRegistry(), weps: map[string]bool{}, blockUsed: map[netip.Prefix]int{}, poolLabels: map[string]bool{}}
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m.applyTime = prometheus.NewSummary(prometheus.SummaryOpts{Name: "felix_int_dataplane_apply_time_seconds",
		Help: "Time in seconds that it took to apply a dataplane update."})
	m.applyFailures = c("felix_int_dataplane_failures", "Number of times dataplane updates failed and will be retried.")
	m.localEndpoints = g("felix_active_local_endpoints", "Number of active endpoints on this host.")
	m.clusterHosts = g("felix_cluster_num_hosts", "Total number of Calico hosts in the cluster.")
	m.clusterEndpoints = g("felix_cluster_num_workload_endpoints", "Total number of workload endpoints in the cluster.")
	m.resyncsStarted = c("felix_resyncs_started", "Number of times the agent has (re)started a resync with the datastore.")
	m.routes = g("brindle_routes_programmed", "Routes brindle keeps in the kernel (after the last successful apply).")
	m.neighbours = g("brindle_neighbours_programmed", "VXLAN neighbour/FDB entries brindle keeps in the kernel.")
	m.nftElements = g("brindle_nft_elements_programmed", "Elements of brindle's nftables sets (pools, NAT pools, tunnel sources).")
	m.syncLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "brindle_sync_latency_seconds",
		Help:    "Time from a datastore change reaching the agent's watch to the kernel being programmed with it.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}})
	m.prefixesReceived = g("brindle_bgp_prefixes_received", "Prefixes learned over BGP and routed.")
	m.prefixesAdv = g("brindle_bgp_prefixes_advertised", "Prefixes this node advertises over BGP.")
	m.ipamBlocks = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "brindle_ipam_blocks",
		Help: "IPAM blocks allocated from each IP pool (cluster-wide)."}, []string{"pool"})
	m.ipamAddresses = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "brindle_ipam_addresses_in_use",
		Help: "Addresses in use in each IP pool (cluster-wide)."}, []string{"pool"})
	m.watchResyncs = c("brindle_watch_resyncs_total", "Datastore watch re-lists after the first list (compaction, lost connection).")
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "brindle_errors_total",
		Help: "Failed runs of each agent component (dataplane, bgp, mtu-file, ...)."}, []string{"component"})
	m.componentTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "brindle_component_run_seconds",
		Help: "Duration of each component run.", Buckets: prometheus.DefBuckets}, []string{"component"})
	m.reg.MustRegister(m.applyTime, m.applyFailures, m.localEndpoints, m.clusterHosts, m.clusterEndpoints,
		m.resyncsStarted, m.routes, m.neighbours, m.nftElements, m.syncLatency, m.prefixesReceived,
		m.prefixesAdv, m.ipamBlocks, m.ipamAddresses, m.watchResyncs, m.errors, m.componentTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		peerCollector{src: peers, desc: prometheus.NewDesc("brindle_bgp_peers",
			"BGP peers by session state (Established, Active, Connect, ...).", []string{"state"}, nil)})
	m.policy = newPolicyMetrics(m.reg)
	return m
}

// handler serves the registry in Prometheus' text format.
func (m *agentMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// dataplaneApplied records one dataplane apply: felix's apply time and failure count, and on
// success what is now in the kernel and how long the changes waiting for it took.
func (m *agentMetrics) dataplaneApplied(want *calc.Desired, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.applyTime.Observe(took.Seconds())
	if err != nil {
		m.applyFailures.Inc()
		return
	}
	m.routes.Set(float64(len(want.Routes)))
	m.neighbours.Set(float64(len(want.VTEPs)))
	m.nftElements.Set(float64(len(want.NAT.AllPools) + len(want.NAT.MasqPools) + len(want.TunnelSources)))
	now := time.Now()
	m.mu.Lock()
	for _, t := range m.pending {
		m.syncLatency.Observe(now.Sub(t).Seconds())
	}
	m.pending = m.pending[:0]
	m.mu.Unlock()
}

// componentRan counts a component's run and its failure.
func (m *agentMetrics) componentRan(name string, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.componentTime.WithLabelValues(name).Observe(took.Seconds())
	if err != nil {
		m.errors.WithLabelValues(name).Inc()
	}
}

// peerCollector reports BGP sessions by state at scrape time (the first word of the status
// socket's Info: Established, Active, Connect, ...). Read when scraped, not by the loop:
// a session coming up does not wake the loop, and the status source is safe to call from
// any goroutine (the status socket does).
type peerCollector struct {
	src  bgpstatus.Source
	desc *prometheus.Desc
}

func (p peerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- p.desc }

func (p peerCollector) Collect(ch chan<- prometheus.Metric) {
	if p.src == nil {
		return
	}
	counts := map[string]float64{"Established": 0}
	for _, peer := range p.src.Status().Peers {
		state, _, _ := strings.Cut(peer.Info, " ")
		if state == "" {
			state = "unknown"
		}
		counts[state]++
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(p.desc, prometheus.GaugeValue, n, s)
	}
}

// advertised records how many prefixes the BGP component handed the speaker.
func (m *agentMetrics) advertised(n int) {
	if m != nil {
		m.prefixesAdv.Set(float64(n))
	}
}

// handle serves one more path on the health port; call it before Serve.
func (h *Health) handle(path string, hd http.Handler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handlers == nil {
		h.handlers = map[string]http.Handler{}
	}
	h.handlers[path] = hd
}
