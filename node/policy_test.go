package node

import (
	"encoding/json"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

func event(t *testing.T, typ store.EventType, kind, ns, name, doc string) store.Event {
	t.Helper()
	k, ok := api.LookupKind(kind)
	if !ok {
		t.Fatalf("kind %s", kind)
	}
	ev := store.Event{Type: typ, Key: store.ResourceKey(k, ns, name), Kind: k, Namespace: ns, Name: name}
	if typ != store.Deleted {
		r := k.New()
		if err := json.Unmarshal([]byte(doc), r); err != nil {
			t.Fatal(err)
		}
		ev.Resource = r
	}
	return ev
}

// TestPolicyCacheEvents: watch events reach the Model, and a deletion (which names only the
// key) removes what the matching update set.
func TestPolicyCacheEvents(t *testing.T) {
	c := newCache("n1", false)
	c.apply(event(t, store.Updated, "WorkloadEndpoint", "default", "n1-cni-a-eth0", `{"metadata":{"name":"n1-cni-a-eth0","namespace":"default",
		"labels":{"app":"web","projectcalico.org/namespace":"default"}},"spec":{"node":"n1","interfaceName":"calia","ipNetworks":["10.65.0.1/32"]}}`))
	c.apply(event(t, store.Updated, "GlobalNetworkPolicy", "", "deny-web", `{"metadata":{"name":"default.deny-web"},
		"spec":{"tier":"default","selector":"app == 'web'","types":["Ingress"]}}`))
	prog, _ := c.pol.model.Flush()
	ep := prog.Endpoints["calia"]
	if ep == nil || len(ep.Ingress.Tiers) != 1 || len(ep.Ingress.Tiers[0].Policies) != 1 {
		t.Fatalf("endpoint calia: %+v", ep)
	}
	c.apply(event(t, store.Deleted, "GlobalNetworkPolicy", "", "deny-web", ""))
	if prog, _ = c.pol.model.Flush(); len(prog.Endpoints["calia"].Ingress.Tiers) != 0 {
		t.Errorf("deleted policy still applies: %+v", prog.Endpoints["calia"].Ingress)
	}
	c.apply(event(t, store.Deleted, "WorkloadEndpoint", "default", "n1-cni-a-eth0", ""))
	if prog, _ = c.pol.model.Flush(); len(prog.Endpoints) != 0 {
		t.Errorf("deleted endpoint still programmed: %v", prog.Endpoints)
	}
	if !c.pol.dirty {
		t.Error("events must mark policy dirty")
	}
}
