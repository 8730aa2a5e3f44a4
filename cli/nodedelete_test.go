package cli

import (
	"context"
	"errors"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
)

func TestDeleteNodeCleansEndpointsAndIPAM(t *testing.T) {
	e := newCLIEnv(t)
	ctx := context.Background()
	e.ok(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p}
spec: {cidr: 10.70.0.0/16, blockSize: 26}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n1}
spec: {bgp: {ipv4Address: 192.0.2.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: n2}
spec: {bgp: {ipv4Address: 192.0.2.2/24}}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n1-auto-hep}
spec: {node: n1, interfaceName: "*"}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: n2-eth0}
spec: {node: n2, interfaceName: eth0}
`, "create", "-f", "-")
	a := ipam.New(e.store, ipam.Options{})
	v4, _, err := a.AutoAssign(ctx, ipam.AutoAssignArgs{Num4: 1, HandleID: "net.c1", Hostname: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := a.AutoAssign(ctx, ipam.AutoAssignArgs{Num4: 1, HandleID: "net.c2", Hostname: "n2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct{ node, cid, ip string }{{"n1", "c1", v4[0].Addr().String()}, {"n2", "c2", other[0].Addr().String()}} {
		wep := &api.WorkloadEndpoint{ObjectMeta: api.ObjectMeta{Name: api.WorkloadEndpointName(w.node, "cni", w.cid, "eth0"), Namespace: "default"}}
		wep.Spec = api.WorkloadEndpointSpec{Orchestrator: "cni", Node: w.node, ContainerID: w.cid, Endpoint: "eth0",
			InterfaceName: "cali" + w.cid, IPNetworks: []string{w.ip + "/32"}}
		if _, err := e.store.Create(ctx, wep); err != nil {
			t.Fatal(err)
		}
	}
	e.ok("", "delete", "node", "n1")
	weps, _, _ := store.ListAs[*api.WorkloadEndpoint](ctx, e.store, "")
	if len(weps) != 1 || weps[0].Spec.Node != "n2" {
		t.Fatalf("endpoints after deleting n1: %d (want only n2's)", len(weps))
	}
	if heps, _, _ := store.ListAs[*api.HostEndpoint](ctx, e.store, ""); len(heps) != 1 || heps[0].Name != "n2-eth0" {
		t.Errorf("host endpoints after deleting n1: %d (want only n2's)", len(heps))
	}
	if ips, _ := a.IPsByHandle(ctx, "net.c1"); len(ips) != 0 {
		t.Errorf("n1's address still allocated: %v", ips)
	}
	if ips, _ := a.IPsByHandle(ctx, "net.c2"); len(ips) != 1 {
		t.Errorf("n2's address was released: %v", ips)
	}
	if _, err := e.store.Get(ctx, "Node", "", "n1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("node n1 still there: %v", err)
	}
}
