package api

import (
	"reflect"
	"testing"
)

func TestUnsupportedFields(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"felix", kind("FelixConfiguration", "{name: default}", "{ipipMTU: 1400, bpfLogLevel: Debug, wireguardEnabledV6: true, wireguardEnabled: true, wireguardThreadingEnabled: true, reportingInterval: 10s}"),
			[]string{"spec.bpfLogLevel", "spec.wireguardThreadingEnabled"}},
		{"felix acted on only", kind("FelixConfiguration", "{name: default}", "{vxlanMTU: 1400}"), nil},
		{"bgp config", kind("BGPConfiguration", "{name: default}", "{asNumber: 65000, serviceClusterIPs: [{cidr: 10.96.0.0/12}], communities: [{name: a, value: '1:2'}]}"),
			[]string{"spec.communities", "spec.serviceClusterIPs"}},
		{"bgp peer", kind("BGPPeer", "{name: p}", "{peerIP: 10.0.0.1, asNumber: 65001, password: {secretKeyRef: {name: s, key: k}}, filters: [f]}"),
			[]string{"spec.filters"}},
		{"pool", kind("IPPool", "{name: p}", "{cidr: 10.0.0.0/16, natOutgoing: true, blockSize: 26}"), nil},
		{"policy rules", kind("GlobalNetworkPolicy", "{name: p}", "{ingress: [{action: Allow}, {action: Allow, http: {methods: [GET]}, source: {services: {name: s, namespace: d}}}], egress: [{action: Allow, destination: {services: {name: k, namespace: d}}}]}"),
			[]string{"spec.egress[0].destination.services", "spec.ingress[1].http", "spec.ingress[1].source.services"}},
		{"workload qos", kind("WorkloadEndpoint", "{name: w, namespace: ns}", "{node: node1, interfaceName: c, qosControls: {ingressBandwidth: 1000000}}"),
			[]string{"spec.qosControls"}},
		{"kind without table", kind("Tier", "{name: t}", "{order: 1}"), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := UnsupportedFields(mustDecode(t, c.yaml)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
