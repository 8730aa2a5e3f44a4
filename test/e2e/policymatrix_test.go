package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// forgedSrc is the second address added to cli1's eth0 for the anti-spoofing row: not one
// of its endpoint's addresses, and outside every pool and subnet of the bed.
var forgedSrc = netip.MustParseAddr("172.31.254.1")

type ctSpec struct {
	name, host string
	opts       cluster.ContainerOptions
}

func lbl(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// matrixContainers: clients on node1, targets on node2 (see policyrows_test.go).
var matrixContainers = []ctSpec{
	{"cli1", "node1", cluster.ContainerOptions{Labels: lbl("role", "client")}},
	{"cli2", "node1", cluster.ContainerOptions{Labels: lbl("role", "other")}},
	{"clit1", "node1", cluster.ContainerOptions{Namespace: "team1", Labels: lbl("role", "client")}},
	{"clit2", "node1", cluster.ContainerOptions{Namespace: "team2", Labels: lbl("role", "client")}},
	{"clinb", "node1", cluster.ContainerOptions{Network: "brindle-b", Labels: lbl("role", "client")}},
	{"tdeny", "node2", cluster.ContainerOptions{Labels: lbl("row", "deny")}},
	{"tegress", "node2", cluster.ContainerOptions{Labels: lbl("row", "egress")}},
	{"tpass", "node2", cluster.ContainerOptions{Labels: lbl("row", "pass")}},
	{"torder", "node2", cluster.ContainerOptions{Labels: lbl("row", "order")}},
	{"tprof", "node2", cluster.ContainerOptions{Labels: lbl("row", "prof")}},
	{"tns", "node2", cluster.ContainerOptions{Namespace: "team1", Labels: lbl("row", "ns")}},
	{"tns2", "node2", cluster.ContainerOptions{Labels: lbl("row", "ns")}},
	{"tnamed", "node2", cluster.ContainerOptions{Labels: lbl("row", "named")}},
	{"trange", "node2", cluster.ContainerOptions{Labels: lbl("row", "range")}},
	{"tnets", "node2", cluster.ContainerOptions{Labels: lbl("row", "nets")}},
	{"tnset", "node2", cluster.ContainerOptions{Labels: lbl("row", "nset")}},
	{"ticmp", "node2", cluster.ContainerOptions{Labels: lbl("row", "icmp")}},
	{"tspoof", "node2", cluster.ContainerOptions{Labels: lbl("row", "spoof")}},
	{"tnet", "node2", cluster.ContainerOptions{}},
	{"tnetb", "node2", cluster.ContainerOptions{Network: "brindle-b"}},
	{"tlabel", "node2", cluster.ContainerOptions{Labels: lbl("row", "label")}},
	{"tlabel2", "node2", cluster.ContainerOptions{Labels: lbl("row", "other")}},
	{"tlog", "node2", cluster.ContainerOptions{Labels: lbl("row", "log")}},
	{"thttp", "node2", cluster.ContainerOptions{Labels: lbl("row", "http")}},
	{"tnot", "node2", cluster.ContainerOptions{Labels: lbl("row", "not")}},
	{"tsa", "node2", cluster.ContainerOptions{Labels: lbl("row", "sa")}},
	{"tlocal", "node1", cluster.ContainerOptions{Labels: lbl("row", "local")}},
	{"tegress2", "node2", cluster.ContainerOptions{Labels: lbl("row", "egress2")}},
	{"tinh", "node2", cluster.ContainerOptions{Labels: lbl("row", "inh")}},
	{"ttier", "node2", cluster.ContainerOptions{Labels: lbl("row", "tier")}},
	{"tsel", "node2", cluster.ContainerOptions{Labels: lbl("row", "sel")}},
	{"tv6", "node2", cluster.ContainerOptions{Labels: lbl("row", "v6")}},
	{"cegress3", "node1", cluster.ContainerOptions{Labels: lbl("row", "egress3")}},
	{"tov", "node2", cluster.ContainerOptions{Labels: lbl("row", "ov")}},
}

// matrixEnv is a running matrix cluster: containers by name, their servers.
type matrixEnv struct {
	c   *cluster.Cluster
	cts map[string]*cluster.Container
	srv map[string]*servers
}

func startMatrix(t *testing.T, specs []ctSpec) *matrixEnv {
	t.Helper()
	c := startCluster(t, testbed.Options{Prefix: "bpolm-", Subnets: []netip.Prefix{subnetA},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}})
	applyPool(t, c, "Never", "Never")
	startAgents(t, c, cluster.AgentOptions{NoBGP: true}, "node1", "node2")
	e := &matrixEnv{c: c, cts: map[string]*cluster.Container{}, srv: map[string]*servers{}}
	for _, s := range specs {
		ct, err := c.AddContainerWith(s.host, s.name, s.opts)
		if err != nil {
			t.Fatal(err)
		}
		e.cts[s.name] = ct
		srv, err := serve(ct)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.close)
		e.srv[s.name] = srv
	}
	return e
}

// wepName is the endpoint the plugin writes for a container (orchestrator cni).
func wepName(ct *cluster.Container) (name, ns string) {
	ns = ct.Opts.Namespace
	if ns == "" {
		ns = "default"
	}
	return ct.Host + "-cni-" + ct.Name + "-eth0", ns
}

// setWEPSpec sets one field of a container's endpoint spec (named ports, a service
// account: the CNI plugin outside Kubernetes writes neither), through get and apply as a
// calicoctl user would.
func setWEPSpec(c *cluster.Cluster, ct *cluster.Container, field string, value any) error {
	name, ns := wepName(ct)
	out, err := c.Ctl(nil, "get", "workloadendpoint", name, "-n", ns, "-o", "json")
	if err != nil {
		return fmt.Errorf("get wep: %w\n%s", err, out)
	}
	var w map[string]any
	if err := json.Unmarshal([]byte(out), &w); err != nil {
		return fmt.Errorf("wep json: %w\n%s", err, out)
	}
	w["spec"].(map[string]any)[field] = value
	b, _ := json.Marshal(w)
	return c.Apply(string(b))
}

// render fills a row's setup template with the containers' addresses.
func (e *matrixEnv) render(setup string) (string, error) {
	data := map[string]string{}
	for n, ct := range e.cts {
		data[n] = ct.IP.String()
	}
	tpl, err := template.New("setup").Option("missingkey=error").Parse(setup)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = tpl.Execute(&b, data)
	return b.String(), err
}

// probe runs one check once and says whether it got through.
func (e *matrixEnv) probe(k check) (bool, error) {
	var from *testbed.Netns
	fromCt := e.cts[k.from]
	if h, ok := strings.CutPrefix(k.from, "host:"); ok && e.c.Host(h) != nil {
		from = e.c.Host(h).Netns
	} else if fromCt != nil {
		from = fromCt.NS
	} else {
		return false, fmt.Errorf("no container %q", k.from)
	}
	var dst netip.Addr
	if h, ok := strings.CutPrefix(k.to, "host:"); ok {
		dst = hostIP(e.c, h)
	} else if to := e.cts[k.to]; to != nil {
		dst = to.IP
	} else {
		return false, fmt.Errorf("no container %q", k.to)
	}
	switch k.proto {
	case "tcp":
		return probeTCP(from, dst, k.port)
	case "udp":
		return probeUDP(from, dst, k.port)
	case "icmp":
		return probeICMP(from, dst, byte(k.port))
	case "sink", "forged":
		if fromCt == nil || e.srv[k.to] == nil {
			return false, fmt.Errorf("%s probes go from a container to a container", k.proto)
		}
		src := fromCt.IP
		if k.proto == "forged" {
			src = forgedSrc
		}
		return probeSpoof(fromCt, e.srv[k.to], dst, src)
	}
	return false, fmt.Errorf("unknown probe %q", k.proto)
}

type result struct {
	row   *row
	check check
	got   bool
	err   error
}

func (r result) ok() bool { return r.err == nil && r.got == r.check.want }

// runChecks probes every check of rows, eight at a time (each probe is bounded by
// probeTimeout; probes in different namespaces do not disturb each other).
func (e *matrixEnv) runChecks(rows []*row) []result {
	var res []result
	for _, r := range rows {
		for _, k := range r.checks {
			res = append(res, result{row: r, check: k})
		}
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range res {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res[i].got, res[i].err = e.probe(res[i].check)
		}()
	}
	wg.Wait()
	return res
}

// waitRows polls the checks of rows until all hold or timeout passes (the agents enforce a
// change a moment after it is written), then returns the last results.
func (e *matrixEnv) waitRows(rows []*row, timeout time.Duration) []result {
	deadline := time.Now().Add(timeout)
	for {
		res := e.runChecks(rows)
		bad := 0
		for _, r := range res {
			if !r.ok() {
				bad++
			}
		}
		if bad == 0 || time.Now().After(deadline) {
			return res
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func verdict(b bool) string {
	if b {
		return "pass"
	}
	return "drop"
}

// table renders results as the matrix a reader checks: row, probe, expected, observed.
func table(res []result) (string, int) {
	var b strings.Builder
	bad := 0
	var last *row
	fmt.Fprintf(&b, "%-4s %-34s %-6s %-6s %s\n", "", "probe", "want", "got", "")
	for _, r := range res {
		if r.row != last {
			fmt.Fprintf(&b, "== %s\n", r.row.name)
			last = r.row
		}
		k := r.check
		probe := fmt.Sprintf("%s -> %s %s/%d", k.from, k.to, k.proto, k.port)
		mark, note := "ok", ""
		if !r.ok() {
			mark = "FAIL"
			bad++
		}
		if r.err != nil {
			note = r.err.Error()
		}
		fmt.Fprintf(&b, "%-4s %-34s %-6s %-6s %s\n", mark, probe, verdict(k.want), verdict(r.got), note)
	}
	return b.String(), bad
}

func ipNet32(a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}
}
