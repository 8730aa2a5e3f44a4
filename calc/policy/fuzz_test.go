package policy

import (
	"encoding/json"
	"testing"

	"github.com/brindle-net/brindle/api"
)

// FuzzRecords: whatever a record in etcd holds (decodable, but not validated), the Model
// neither panics nor produces an inconsistent Program.
func FuzzRecords(f *testing.F) {
	f.Add(`{"metadata":{"name":"default.x"},"spec":{"selector":"all()","ingress":[{"action":"Allow","protocol":"TCP","source":{"selector":"a == 'b'","ports":["http",80,"1:2"]},"destination":{"namespaceSelector":"global()"}}]}}`,
		`{"metadata":{"name":"w","namespace":"default","labels":{"a":"b"}},"spec":{"node":"node-a","interfaceName":"cali1","ipNetworks":["10.0.0.1/32"],"ports":[{"name":"http","protocol":"TCP","port":80}],"profiles":["p"]}}`,
		`{"metadata":{"name":"p"},"spec":{"labelsToApply":{"x":""},"egress":[{"action":"Pass","icmp":{"type":3,"code":1},"protocol":1}]}}`)
	f.Add(`{"metadata":{"name":"t.x"},"spec":{"tier":"t","order":-1,"selector":"(((","egress":[{"action":"bogus","ipVersion":7,"notProtocol":"XYZ","destination":{"nets":["nope"],"notNets":["0.0.0.0/0"]}}]}}`,
		`{"metadata":{"name":"w2","namespace":"ns"},"spec":{"node":"node-a","interfaceName":"cali1","ipNetworks":["fd00::1","10.0.0.0/8"],"ports":[{"name":"","protocol":"ICMP","port":0}]}}`,
		`{"metadata":{"name":"projectcalico-default-allow"},"spec":{"ingress":[{"action":"Log","http":{"methods":["GET"]}}]}}`)
	f.Fuzz(func(t *testing.T, pol, ep, prof string) {
		m := New(Options{Node: testNode, IPv6: len(pol)%2 == 0})
		var g api.GlobalNetworkPolicy
		var n api.NetworkPolicy
		var w api.WorkloadEndpoint
		var p api.Profile
		if json.Unmarshal([]byte(pol), &g) == nil {
			m.SetGlobalNetworkPolicy(&g)
		}
		if json.Unmarshal([]byte(pol), &n) == nil {
			n.Namespace = "default"
			m.SetNetworkPolicy(&n)
		}
		if json.Unmarshal([]byte(ep), &w) == nil {
			m.SetWorkloadEndpoint(&w)
		}
		if json.Unmarshal([]byte(prof), &p) == nil {
			m.SetProfile(&p)
		}
		prog, _ := m.Flush()
		checkConsistent(t, prog)
		m.DeleteWorkloadEndpoint(w.Namespace, w.Name)
		m.DeleteProfile(p.Name)
		m.DeleteGlobalNetworkPolicy(g.Name)
		m.DeleteNetworkPolicy("default", n.Name)
		prog, _ = m.Flush()
		checkConsistent(t, prog)
		if len(prog.Endpoints)+len(prog.Chains)+len(prog.Sets) != 0 {
			t.Fatalf("not empty after deleting everything: %d endpoints, %d chains, %d sets", len(prog.Endpoints), len(prog.Chains), len(prog.Sets))
		}
	})
}
