package policy

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
)

// benchWorld is the scale: nPol GlobalNetworkPolicies of three rules each (selectors,
// ports, a named port), nLocal local endpoints and nRemote remote ones. Each policy has a rule
// selector of its own (svc == sN), so there are about 1,200 distinct sets, not a handful.
func benchWorld(nPol, nLocal, nRemote int) []update {
	var ev []update
	add := func(name string, f func(*Model)) { ev = append(ev, update{name, f}) }
	for i := range nPol {
		name := fmt.Sprintf("default.bench%04d", i)
		add(name, func(m *Model) { m.SetGlobalNetworkPolicy(benchPolicy(name, i, 0)) })
	}
	for i := range nLocal + nRemote {
		node := ""
		if i >= nLocal {
			node = "node-b"
		}
		add("wep", func(m *Model) { m.SetWorkloadEndpoint(benchWEP(node, i, i%50)) })
	}
	return ev
}

func benchPolicy(name string, i, variant int) *api.GlobalNetworkPolicy {
	return gnp(name, ptr(float64(i%100)), fmt.Sprintf("app == 'app%d'", i%50), []api.Rule{
		{Action: api.ActionAllow, Protocol: tcp(), Source: fromSel(fmt.Sprintf("svc == 's%d'", (i+variant)%1000)),
			Destination: api.EntityRule{Ports: ports("80", "8000:8100")}},
		{Action: api.ActionAllow, Protocol: tcp(), Source: fromSel(fmt.Sprintf("team == 't%d' && app != 'app%d'", i%20, i%50)),
			Destination: api.EntityRule{Ports: ports("http")}},
	}, []api.Rule{
		{Action: api.ActionAllow, Protocol: udp(), Destination: api.EntityRule{Selector: fmt.Sprintf("app == 'app%d'", (i+7)%50), Ports: ports("53")}},
	})
}

func benchWEP(node string, i, app int) *api.WorkloadEndpoint {
	w := wep(node, "default", fmt.Sprintf("%s-w%d", node, i), fmt.Sprintf("10.%d.%d.%d", 1+i/62500, i/250%250, i%250+1),
		map[string]string{"app": fmt.Sprintf("app%d", app), "team": fmt.Sprintf("t%d", i%20), "svc": fmt.Sprintf("s%d", i%1000)},
		DefaultAllowProfile)
	w.Spec.Ports = []api.WorkloadEndpointPort{{Name: "http", Protocol: api.ProtocolFromName("TCP"), Port: 8080}}
	return w
}

func cold(ev []update) (*Model, *Program) {
	m := New(Options{Node: testNode})
	for _, u := range ev {
		u.apply(m)
	}
	p, _ := m.Flush()
	return m, p
}

// BenchmarkCold: 1,000 policies, 500 local and 1,500 remote endpoints, from nothing to the
// first Program.
func BenchmarkCold(b *testing.B) {
	ev := benchWorld(1000, 500, 1500)
	b.ReportAllocs()
	var p *Program
	var m *Model
	cpu0 := cpuTime()
	for b.Loop() {
		m, p = cold(ev)
	}
	// CPU time, not only wall time: the machine running this is shared, and wall time then
	// mostly measures waiting for a core.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(len(p.Chains)), "chains")
	b.ReportMetric(float64(len(p.Sets)), "sets")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	runtime.KeepAlive(m)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDelta: one change at the same scale, then Flush.
func BenchmarkDelta(b *testing.B) {
	ev := benchWorld(1000, 500, 1500)
	for _, c := range []struct {
		name string
		f    func(m *Model, i int)
	}{
		{"policy-edit", func(m *Model, i int) {
			m.SetGlobalNetworkPolicy(benchPolicy("default.bench0007", 7, i%2+1))
		}},
		{"endpoint-add", func(m *Model, i int) {
			if i%2 == 0 {
				m.SetWorkloadEndpoint(benchWEP("", 100000, 3))
			} else {
				m.DeleteWorkloadEndpoint("default", "-w100000")
			}
		}},
		{"label-change", func(m *Model, i int) { m.SetWorkloadEndpoint(benchWEP("", 10, 10+i%2)) }},
		{"remote-label-change", func(m *Model, i int) { m.SetWorkloadEndpoint(benchWEP("node-b", 600, 10+i%2)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			m, _ := cold(ev)
			b.ReportAllocs()
			i := 0
			cpu0 := cpuTime()
			for b.Loop() {
				c.f(m, i)
				m.Flush()
				i++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1000/float64(b.N), "cpu-us/op")
		})
	}
}
