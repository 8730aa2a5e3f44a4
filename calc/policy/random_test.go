package policy

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

// randomObject returns a random version of object k (one of a small universe of keys, so that
// sets, edits and deletes of the same object interleave).
func randomObject(r *rand.Rand, k string) func(*Model) {
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	labels := func() map[string]string {
		l := map[string]string{}
		if r.Intn(3) > 0 {
			l["app"] = pick("a", "b", "c")
		}
		if r.Intn(2) == 0 {
			l["role"] = pick("db", "web")
		}
		return l
	}
	sel := func() string {
		return pick("", "all()", "app == 'a'", "app == 'b' && role == 'db'", "has(role)", "app in {'a', 'c'}", "!has(app)", "net1 == ''")
	}
	entity := func() api.EntityRule {
		e := api.EntityRule{Selector: sel()}
		switch r.Intn(6) {
		case 0:
			e.NotSelector = pick("role == 'web'", "app == 'c'")
		case 1:
			e.Nets = []string{pick("10.0.0.0/16", "10.9.0.0/16", "192.0.2.0/24")}
		case 2:
			e.NamespaceSelector = pick("all()", "global()", "name == 'dev'")
		case 3:
			e.ServiceAccounts = &api.ServiceAccountMatch{Names: []string{pick("sa1", "sa2")}}
		}
		return e
	}
	rule := func() api.Rule {
		rr := api.Rule{Action: pick("Allow", "Deny", "Pass", "Log"), Source: entity()}
		if r.Intn(2) == 0 {
			rr.Protocol = tcp()
			rr.Destination.Ports = ports(pick("http", "80", "8000:8100"))
		}
		return rr
	}
	rules := func() []api.Rule {
		var rs []api.Rule
		for range r.Intn(3) {
			rs = append(rs, rule())
		}
		return rs
	}
	kind, idx := splitKey(k)
	switch kind {
	case "wep", "rwep":
		node := ""
		if kind == "rwep" {
			node = "node-b"
		}
		w := wep(node, "default", k, fmt.Sprintf("10.0.%d.%d", len(kind), idx+1), labels(), pick("net1", DefaultAllowProfile, "kns.dev"))
		if r.Intn(2) == 0 {
			w.Spec.Ports = []api.WorkloadEndpointPort{{Name: "http", Protocol: api.ProtocolFromName("TCP"), Port: uint16(8000 + r.Intn(3))}}
		}
		if r.Intn(2) == 0 {
			w.Spec.ServiceAccountName = pick("sa1", "sa2")
		}
		return func(m *Model) { m.SetWorkloadEndpoint(w) }
	case "gnp":
		t := pick("", "sec", "ghost")
		name := "default." + k
		if t != "" {
			name = t + "." + k
		}
		g := gnp(name, []*float64{nil, ptr(1.0), ptr(2.0)}[r.Intn(3)], sel(), rules(), rules())
		g.Spec.Tier = t
		return func(m *Model) { m.SetGlobalNetworkPolicy(g) }
	case "np":
		n := np("default", "default."+k, []*float64{nil, ptr(1.0)}[r.Intn(2)], sel(), rules(), rules())
		return func(m *Model) { m.SetNetworkPolicy(n) }
	case "prof":
		name := []string{"net1", "kns.dev", DefaultAllowProfile}[idx%3]
		p := profile(name, map[string]string{pick("net1", "pcns.name"): pick("", "dev")}, rules(), rules())
		return func(m *Model) { m.SetProfile(p) }
	case "tier":
		t := tier([]string{"sec", "default"}[idx%2], []*float64{nil, ptr(5.0), ptr(1e6)}[r.Intn(3)], pick("Deny", "Pass"))
		return func(m *Model) { m.SetTier(t) }
	case "gns":
		gs := &api.GlobalNetworkSet{ObjectMeta: api.ObjectMeta{Name: k, Labels: labels()},
			Spec: api.GlobalNetworkSetSpec{Nets: []string{pick("10.0.0.0/16", "10.0.4.0/24", "10.0.4.2"), pick("192.0.2.0/24", "10.0.4.0/30")}}}
		return func(m *Model) { m.SetGlobalNetworkSet(gs) }
	}
	panic("unknown kind " + k)
}

func deleter(k string) func(*Model) {
	kind, idx := splitKey(k)
	return func(m *Model) {
		switch kind {
		case "wep", "rwep":
			m.DeleteWorkloadEndpoint("default", k)
		case "gnp":
			for _, t := range []string{"default.", "sec.", "ghost."} {
				m.DeleteGlobalNetworkPolicy(t + k)
			}
		case "np":
			m.DeleteNetworkPolicy("default", "default."+k)
		case "prof":
			m.DeleteProfile([]string{"net1", "kns.dev", DefaultAllowProfile}[idx%3])
		case "tier":
			m.DeleteTier([]string{"sec", "default"}[idx%2])
		case "gns":
			m.DeleteGlobalNetworkSet(k)
		}
	}
}

// TestRandomOperations applies random sets, edits and deletes with flushes at random points,
// checks after each flush that the deltas rebuild the Program, and at the end that the Program
// equals the one a fresh Model computes from the surviving objects alone.
func TestRandomOperations(t *testing.T) {
	var keys []string
	for i := range 6 {
		keys = append(keys, fmt.Sprintf("wep%d", i), fmt.Sprintf("rwep%d", i), fmt.Sprintf("gnp%d", i))
	}
	keys = append(keys, "np0", "np1", "prof0", "prof1", "prof2", "tier0", "tier1", "gns0", "gns1")
	for seed := int64(1); seed <= 60; seed++ {
		r := rand.New(rand.NewSource(seed))
		m := New(Options{Node: testNode})
		var mr mirror
		live := map[string]func(*Model){}
		for step := range 150 {
			k := keys[r.Intn(len(keys))]
			if _, ok := live[k]; ok && r.Intn(4) == 0 {
				deleter(k)(m)
				delete(live, k)
			} else {
				// Deletes of gnp try every tier prefix: drop the old version first so that
				// a policy moving between tiers does not leave its old name behind.
				if _, ok := live[k]; ok && k[:3] == "gnp" {
					deleter(k)(m)
				}
				f := randomObject(r, k)
				f(m)
				live[k] = f
			}
			if r.Intn(5) == 0 {
				p, d := m.Flush()
				mr.apply(t, p, d)
				mr.check(t, p, fmt.Sprintf("seed %d step %d", seed, step))
			}
		}
		got, d := m.Flush()
		mr.apply(t, got, d)
		mr.check(t, got, fmt.Sprintf("seed %d end", seed))
		checkConsistent(t, got)
		fresh := New(Options{Node: testNode})
		names := make([]string, 0, len(live))
		for k := range live {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			live[k](fresh)
		}
		want, _ := fresh.Flush()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: incremental Program differs from a fresh one:\n%s", seed, programDiff(want, got))
		}
	}
}

func programDiff(want, got *Program) string {
	s := ""
	for id, x := range want.Sets {
		if !reflect.DeepEqual(x, got.Sets[id]) {
			s += fmt.Sprintf("set %s: want %+v got %+v\n", id, x, got.Sets[id])
		}
	}
	for id := range got.Sets {
		if want.Sets[id] == nil {
			s += fmt.Sprintf("extra set %s\n", id)
		}
	}
	for id, x := range want.Chains {
		if !reflect.DeepEqual(x, got.Chains[id]) {
			s += fmt.Sprintf("chain %s: want %+v got %+v\n", id, x, got.Chains[id])
		}
	}
	for id := range got.Chains {
		if want.Chains[id] == nil {
			s += fmt.Sprintf("extra chain %s\n", id)
		}
	}
	for id, x := range want.Endpoints {
		if !reflect.DeepEqual(x, got.Endpoints[id]) {
			s += fmt.Sprintf("endpoint %s: want %+v got %+v\n", id, x, got.Endpoints[id])
		}
	}
	return s
}

func splitKey(k string) (string, int) {
	i := strings.IndexAny(k, "0123456789")
	n, _ := strconv.Atoi(k[i:])
	return k[:i], n
}
