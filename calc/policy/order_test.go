package policy

import (
	"fmt"
	"math/rand"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/brindle-net/brindle/api"
)

type update struct {
	name  string
	apply func(*Model)
}

// events is a cluster's worth of updates, each key once, so that any order of application must
// end in the same Program: tiers, global and namespaced policies (with named ports, namespace
// and service account selectors, Pass, Log), profiles with labels, network sets, local and
// remote endpoints.
func events(nLocal, nRemote, nPol int) []update {
	var ev []update
	add := func(name string, f func(*Model)) { ev = append(ev, update{name, f}) }
	add("tier sec", func(m *Model) { m.SetTier(tier("sec", ptr(10.0), "Pass")) })
	add("tier default", func(m *Model) { m.SetTier(tier("default", ptr(1e6), "Deny")) })
	add("profile kns.dev", func(m *Model) {
		m.SetProfile(profile("kns.dev", map[string]string{"pcns.name": "dev"}, []api.Rule{allow(api.EntityRule{}, api.EntityRule{})}, nil))
	})
	add("profile net1", func(m *Model) {
		m.SetProfile(profile("net1", map[string]string{"net1": ""}, []api.Rule{allow(fromSel("has(net1)"), api.EntityRule{})}, []api.Rule{allow(api.EntityRule{}, api.EntityRule{})}))
	})
	add("gns ext", func(m *Model) {
		m.SetGlobalNetworkSet(&api.GlobalNetworkSet{ObjectMeta: api.ObjectMeta{Name: "ext", Labels: map[string]string{"role": "ext"}},
			Spec: api.GlobalNetworkSetSpec{Nets: []string{"192.0.2.0/24", "192.0.2.8/29", "198.51.100.1"}}})
	})
	add("ns dev/n", func(m *Model) {
		m.SetNetworkSet(&api.NetworkSet{ObjectMeta: api.ObjectMeta{Name: "n", Namespace: "dev", Labels: map[string]string{"role": "ext"}},
			Spec: api.NetworkSetSpec{Nets: []string{"203.0.113.0/25"}}})
	})
	add("sec.pass", func(m *Model) {
		m.SetGlobalNetworkPolicy(&api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "sec.pass"},
			Spec: api.GlobalNetworkPolicySpec{Tier: "sec", Selector: "all()", Ingress: []api.Rule{
				{Action: api.ActionLog}, {Action: api.ActionPass, Source: fromSel("role == 'ext'")},
				{Action: api.ActionDeny, Source: api.EntityRule{Nets: []string{"10.99.0.0/16"}}}}}})
	})
	for i := range nPol {
		name := fmt.Sprintf("default.p%03d", i)
		var order *float64
		if i%3 != 0 {
			order = ptr(float64(i % 7))
		}
		add("gnp "+name, func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp(name, order, fmt.Sprintf("app == 'app%d'", i%5), []api.Rule{
				{Action: api.ActionAllow, Protocol: tcp(), Source: fromSel(fmt.Sprintf("app == 'app%d'", (i+1)%5)), Destination: api.EntityRule{Ports: ports("http", "8000:8100")}},
				{Action: api.ActionDeny, Source: api.EntityRule{NamespaceSelector: "name == 'dev'"}},
			}, []api.Rule{{Action: api.ActionAllow, Protocol: udp(), Destination: api.EntityRule{Selector: "role == 'ext'", Ports: ports("53")}}}))
		})
	}
	add("np dev/np", func(m *Model) {
		m.SetNetworkPolicy(np("dev", "default.np", ptr(1.0), "all()", []api.Rule{
			allow(api.EntityRule{ServiceAccounts: &api.ServiceAccountMatch{Names: []string{"sa1"}}}, api.EntityRule{}),
			allow(api.EntityRule{NamespaceSelector: "global()", Selector: "role == 'ext'"}, api.EntityRule{}),
			{Action: api.ActionAllow, HTTP: &api.HTTPMatch{Methods: []string{"GET"}}}}, nil))
	})
	mk := func(node string, i int, local bool) {
		ns := "default"
		if i%4 == 3 {
			ns = "dev"
		}
		name := fmt.Sprintf("%s-w%d", node, i)
		ip := fmt.Sprintf("10.%d.%d.%d", map[bool]int{true: 1, false: 2}[local], i/250, i%250+1)
		add("wep "+name, func(m *Model) {
			n := node
			if local {
				n = ""
			}
			profiles := []string{"net1"}
			if ns == "dev" {
				profiles = append(profiles, "kns.dev")
			}
			w := wep(n, ns, name, ip, map[string]string{"app": fmt.Sprintf("app%d", i%5)}, profiles...)
			w.Spec.Ports = []api.WorkloadEndpointPort{{Name: "http", Protocol: api.ProtocolFromName("TCP"), Port: uint16(8000 + i%3)}}
			if i%2 == 0 {
				w.Spec.ServiceAccountName = "sa1"
			}
			m.SetWorkloadEndpoint(w)
		})
	}
	for i := range nLocal {
		mk(testNode, i, true)
	}
	for i := range nRemote {
		mk("node-b", i, false)
	}
	return ev
}

// mutations follow the events in every run: edits and deletions exercise the paths that
// remove members, chains and sets.
func mutations() []update {
	return []update{
		{"relabel w1", func(m *Model) {
			w := wep("", "default", "node-a-w1", "10.1.0.2", map[string]string{"app": "app4"}, "net1")
			m.SetWorkloadEndpoint(w)
		}},
		{"edit p001", func(m *Model) {
			m.SetGlobalNetworkPolicy(gnp("default.p001", ptr(0.5), "app == 'app1'", []api.Rule{{Action: api.ActionDeny}}, nil))
		}},
		{"delete p002", func(m *Model) { m.DeleteGlobalNetworkPolicy("default.p002") }},
		{"delete remote w3", func(m *Model) { m.DeleteWorkloadEndpoint("dev", "node-b-w3") }},
		{"profile net1 labels", func(m *Model) {
			m.SetProfile(profile("net1", map[string]string{"net1": "", "extra": "x"}, []api.Rule{allow(fromSel("extra == 'x'"), api.EntityRule{})}, nil))
		}},
		{"gns ext shrinks", func(m *Model) {
			m.SetGlobalNetworkSet(&api.GlobalNetworkSet{ObjectMeta: api.ObjectMeta{Name: "ext", Labels: map[string]string{"role": "ext"}},
				Spec: api.GlobalNetworkSetSpec{Nets: []string{"192.0.2.8/29"}}})
		}},
		{"tier sec deny", func(m *Model) { m.SetTier(tier("sec", ptr(10.0), "Deny")) }},
		{"delete local w0", func(m *Model) { m.DeleteWorkloadEndpoint("default", "node-a-w0") }},
	}
}

// mirror is a renderer stand-in that knows the Program only through Deltas: sets from their
// member changes, chains and endpoints copied when listed as changed. If the deltas are
// complete it always equals the Program.
type mirror struct {
	sets   map[SetID]*Set
	chains map[ChainID]*Chain
	eps    map[string]*Endpoint
}

func (mr *mirror) apply(t *testing.T, p *Program, d Delta) {
	if mr.sets == nil {
		mr.sets, mr.chains, mr.eps = map[SetID]*Set{}, map[ChainID]*Chain{}, map[string]*Endpoint{}
	}
	for id, sd := range d.Sets {
		if sd.Removed {
			delete(mr.sets, id)
			continue
		}
		s := mr.sets[id]
		if sd.New {
			if s != nil {
				t.Fatalf("set %s new twice", id)
			}
			src := p.Sets[id]
			s = &Set{ID: id, Kind: src.Kind, Family: src.Family, Source: src.Source}
			mr.sets[id] = s
		}
		s.Nets = slices.DeleteFunc(s.Nets, func(x netip.Prefix) bool { return slices.Contains(sd.DelNets, x) })
		s.Nets = append(s.Nets, sd.AddNets...)
		slices.SortFunc(s.Nets, comparePrefix)
		s.Members = slices.DeleteFunc(s.Members, func(x AddrPort) bool { return slices.Contains(sd.DelMembers, x) })
		s.Members = append(s.Members, sd.AddMembers...)
		slices.SortFunc(s.Members, compareAddrPort)
	}
	for _, id := range d.ChainsRemoved {
		delete(mr.chains, id)
	}
	for _, id := range d.ChainsChanged {
		c := *p.Chains[id]
		mr.chains[id] = &c
	}
	for _, i := range d.EndpointsRemoved {
		delete(mr.eps, i)
	}
	for _, i := range d.EndpointsChanged {
		e := *p.Endpoints[i]
		mr.eps[i] = &e
	}
}

func (mr *mirror) check(t *testing.T, p *Program, when string) {
	t.Helper()
	norm := func(s *Set) Set { c := *s; c.Nets = slices.Clip(c.Nets); return c }
	if len(mr.sets) != len(p.Sets) {
		t.Fatalf("%s: mirror has %d sets, Program %d", when, len(mr.sets), len(p.Sets))
	}
	for id, s := range p.Sets {
		a, b := norm(s), norm(mr.sets[id])
		if len(a.Nets) == 0 {
			a.Nets = nil
		}
		if len(b.Nets) == 0 {
			b.Nets = nil
		}
		if len(a.Members) == 0 {
			a.Members = nil
		}
		if len(b.Members) == 0 {
			b.Members = nil
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: set %s from deltas %+v, Program %+v", when, id, b, a)
		}
	}
	if !reflect.DeepEqual(mr.chains, p.Chains) || !reflect.DeepEqual(mr.eps, p.Endpoints) {
		t.Fatalf("%s: chains or endpoints from deltas differ from the Program", when)
	}
}

func run(t *testing.T, ev []update, flushEach bool) *Program {
	m := New(Options{Node: testNode})
	var mr mirror
	for _, u := range ev {
		u.apply(m)
		if flushEach {
			p, d := m.Flush()
			mr.apply(t, p, d)
			mr.check(t, p, u.name)
		}
	}
	p, d := m.Flush()
	mr.apply(t, p, d)
	mr.check(t, p, "end")
	checkConsistent(t, p)
	return p
}

func TestOrderIndependence(t *testing.T) {
	ev := events(12, 20, 15)
	tail := mutations()
	want := run(t, append(slices.Clone(ev), tail...), false)
	if len(want.Endpoints) != 11 || len(want.Chains) < 20 || len(want.Sets) < 10 {
		t.Fatalf("fixture too small to prove anything: %d endpoints, %d chains, %d sets", len(want.Endpoints), len(want.Chains), len(want.Sets))
	}
	if got := run(t, append(slices.Clone(ev), tail...), true); !reflect.DeepEqual(got, want) {
		t.Fatal("flushing after every update differs from one flush at the end")
	}
	rev := slices.Clone(ev)
	slices.Reverse(rev)
	if got := run(t, append(rev, tail...), true); !reflect.DeepEqual(got, want) {
		t.Fatal("reversed order differs")
	}
	for seed := int64(1); seed <= 10; seed++ {
		sh := slices.Clone(ev)
		rand.New(rand.NewSource(seed)).Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		if got := run(t, append(sh, tail...), seed%2 == 0); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle seed %d differs", seed)
		}
	}
}

// TestResyncIsQuiet: setting every object again unchanged produces an empty delta and no
// warnings (the agent's watch resyncs after compaction).
func TestResyncIsQuiet(t *testing.T) {
	ev := events(6, 6, 6)
	m := New(Options{Node: testNode})
	for _, u := range ev {
		u.apply(m)
	}
	_, d := m.Flush()
	if len(d.Warnings) == 0 {
		t.Fatal("fixture should produce a warning (the http rule)")
	}
	for _, u := range ev {
		u.apply(m)
	}
	if _, d := m.Flush(); !d.Empty() || len(d.Warnings) > 0 {
		t.Fatalf("resync produced a delta: %+v", d)
	}
}
