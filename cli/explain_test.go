package cli

import (
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/explain"
)

func TestResolveEndpoint(t *testing.T) {
	wep := func(ns, name, node, id, ip string) *api.WorkloadEndpoint {
		w := &api.WorkloadEndpoint{}
		w.Namespace, w.Name = ns, name
		w.Spec.Node, w.Spec.ContainerID, w.Spec.IPNetworks = node, id, []string{ip}
		return w
	}
	weps := []*api.WorkloadEndpoint{
		wep("default", "node02-cni-busybox1-eth0", "node02", "5c99cfb6f4aa", "10.244.2.5/32"),
		wep("default", "node01-cni-nginx-eth0", "node01", "6b9d659f5fbb", "10.244.1.2/32"),
		wep("other", "node01-cni-nginx-eth0", "node01", "ffff00001111", "10.244.1.9/32"),
	}
	n := &api.Node{}
	n.Name = "node01"
	n.Spec.BGP = &api.NodeBGPSpec{IPv4Address: "100.100.137.201/24"}
	nodes := []*api.Node{n}
	for _, tc := range []struct {
		arg, kind, node, addr, err string
	}{
		{arg: "10.244.2.5", kind: explain.KindWorkload, node: "node02", addr: "10.244.2.5"},
		{arg: "5c99cfb6f4", kind: explain.KindWorkload, node: "node02", addr: "10.244.2.5"},
		{arg: "default/node01-cni-nginx-eth0", kind: explain.KindWorkload, node: "node01", addr: "10.244.1.2"},
		{arg: "node01-cni-nginx-eth0", err: "names 2 workload endpoints"},
		{arg: "node01", kind: explain.KindNode, node: "node01", addr: "100.100.137.201"},
		{arg: "100.100.137.201", kind: explain.KindNode, node: "node01", addr: "100.100.137.201"},
		{arg: "192.0.2.7", kind: explain.KindAddress, addr: "192.0.2.7"},
		{arg: "5c99", err: "is no workload endpoint name"},
		{arg: "fd00::1", err: "only IPv4"},
	} {
		e, err := resolveEndpoint(tc.arg, weps, nodes)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.arg, err, tc.err)
			}
			continue
		}
		if err != nil || e.Kind != tc.kind || e.Node != tc.node || e.Addr.String() != tc.addr {
			t.Errorf("%s: %+v %v, want %s on %q at %s", tc.arg, e, err, tc.kind, tc.node, tc.addr)
		}
	}
	if _, err := parseAgents([]string{"node01"}); err == nil || !strings.Contains(err.Error(), "NODE=TARGET") {
		t.Errorf("parseAgents without = : %v", err)
	}
}
