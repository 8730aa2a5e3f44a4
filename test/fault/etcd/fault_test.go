package etcdfault

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

var nodes = []string{"node1", "node2", "node3"}

// figure is one row of the table the test logs: fault | what was measured | result.
type figure struct{ fault, measured, result string }

// faultRun is the state the phases share.
type faultRun struct {
	t       *testing.T
	c       *cluster.Cluster
	m       *members
	static  []*cluster.Container
	pings   []*pinger // between the static containers: must lose nothing
	probe   map[string]*pinger
	churns  []*churn
	figures []figure
}

func (r *faultRun) add(fault, measured, format string, args ...any) {
	r.figures = append(r.figures, figure{fault, measured, fmt.Sprintf(format, args...)})
}

// window adds the rows every phase has: pings lost and CNI calls in [from, to).
func (r *faultRun) window(fault string, from, to time.Time) {
	sent, lost := 0, 0
	for _, p := range r.pings {
		s, l := p.counts(from, to)
		sent, lost = sent+s, lost+l
	}
	r.add(fault, "pings lost between existing containers (3 pairs, 10 ms)", "%d of %d", lost, sent)
	r.add(fault, "CNI calls (3 hosts, continuous)", "%s", countChurn(r.churns, from, to))
}

// policyFigures writes the probe policy (deny or allow again) and records how long after
// since each probe host enforced it.
func (r *faultRun) policyFigures(fault string, deny bool, since time.Time, hosts ...string) {
	r.t.Helper()
	what := "allow"
	if deny {
		what = "deny"
	}
	for _, h := range hosts {
		d, err := effect(r.probe[h], deny, since, 30*time.Second)
		if err != nil {
			r.t.Errorf("%s: %v", fault, err)
			r.add(fault, h+": probe policy "+what+" in force after", "not within 30s")
			continue
		}
		r.add(fault, h+": probe policy "+what+" in force after", "%s", d.Round(time.Millisecond))
	}
}

// TestEtcdFaults is issue #16 items 1 and 2 in one cluster, faults in sequence: the
// dataplane keeps forwarding, CNI ADD fails only with code 11 and leaves nothing behind,
// no address is given twice, and every agent follows the datastore again right after.
func TestEtcdFaults(t *testing.T) {
	testbed.RequireRoot(t)
	long := outage(t)
	bin := brindleBin(t)
	var hosts []testbed.HostOptions
	for _, n := range append(append([]string{}, nodes...), memberNames...) {
		hosts = append(hosts, testbed.HostOptions{Name: n})
	}
	c, err := cluster.Start(cluster.Options{Bed: testbed.Options{Prefix: "bfe-", Hosts: hosts}, Binary: bin, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 60)
	r := &faultRun{t: t, c: c, m: startMembers(t, c), probe: map[string]*pinger{}}
	r.setup()
	defer r.logFigures()

	r.baseline()
	r.leaderKill()
	r.partition()
	r.clusterDown(long)
	r.hostCut("node3", long)
	r.finish()
}

func (r *faultRun) setup() {
	t, c := r.t, r.c
	pool, err := cluster.Seed("default-ipv4-ippool.yaml")
	if err == nil {
		pool, err = cluster.SetField(pool, "ipipMode", "Never")
	}
	if err == nil {
		pool, err = cluster.SetField(pool, "vxlanMode", "Never")
	}
	if err == nil {
		err = c.Apply(pool)
	}
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, h := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = c.StartAgent(h, cluster.AgentOptions{}) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range nodes {
		ct, err := c.AddContainer(h, fmt.Sprintf("s%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		r.static = append(r.static, ct)
	}
	probes := []*cluster.Container{}
	for _, h := range nodes[1:] {
		ct, err := c.AddContainerWith(h, "p"+strings.TrimPrefix(h, "node"), cluster.ContainerOptions{Labels: map[string]string{"role": "probe"}})
		if err != nil {
			t.Fatal(err)
		}
		probes = append(probes, ct)
	}
	if err := cluster.WaitMatrix(append(append([]*cluster.Container{}, r.static...), probes...), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	for i, from := range r.static {
		p, err := startPinger(from, r.static[(i+1)%len(r.static)].IP, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		r.pings = append(r.pings, p)
	}
	for _, ct := range probes {
		p, err := startPinger(r.static[0], ct.IP, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		r.probe[ct.Host] = p
	}
	t.Cleanup(func() {
		for _, p := range append(r.pings, r.probe["node2"], r.probe["node3"]) {
			if p != nil {
				p.Stop()
			}
		}
	})
	for _, h := range nodes {
		r.churns = append(r.churns, startChurn(c, h, 3))
	}
	t.Cleanup(func() {
		for _, ch := range r.churns {
			select {
			case <-ch.stop:
			default:
				ch.Stop()
			}
		}
	})
}

func (r *faultRun) logFigures() {
	var b strings.Builder
	b.WriteString("\n| fault | measured | result |\n|---|---|---|\n")
	for _, f := range r.figures {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", f.fault, f.measured, f.result)
	}
	r.t.Log(b.String())
}
