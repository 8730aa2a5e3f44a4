package policy

import (
	"os"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

// TestCalicoRecords feeds records exactly as Calico stored them: the GlobalNetworkPolicy
// selects every endpoint both ways, so its tier (default, Deny) decides before the CNI
// network's profile is reached.
func TestCalicoRecords(t *testing.T) {
	var lines []string
	data, err := os.ReadFile("testdata/calico-etcd.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "{") {
			lines = append(lines, l)
		}
	}
	m := New(Options{Node: "node1"})
	for _, l := range lines {
		rs, err := api.DecodeDocuments([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			switch o := r.(type) {
			case *api.GlobalNetworkPolicy:
				m.SetGlobalNetworkPolicy(o)
			case *api.Tier:
				m.SetTier(o)
			case *api.Profile:
				m.SetProfile(o)
			case *api.WorkloadEndpoint:
				m.SetWorkloadEndpoint(o)
			default:
				t.Fatalf("unexpected %T", r)
			}
		}
	}
	peer := wep("node2", "default", "node2-cni-def-eth0", "10.244.7.1", nil, "calico-peer-test")
	m.SetWorkloadEndpoint(peer)
	p, d := m.Flush()
	checkConsistent(t, p)
	if len(d.Warnings) != 0 {
		t.Errorf("warnings: %v", d.Warnings)
	}
	for _, c := range []probe{
		{"caliabc", false, ping("192.0.2.1", "10.244.154.0", 8, 0), "allow"},
		{"caliabc", false, tcpTo("10.244.7.1", "10.244.154.0", 443), "allow"},
		{"caliabc", false, tcpTo("192.0.2.1", "10.244.154.0", 443), "deny"},
		{"caliabc", false, tcpTo("10.244.7.1", "10.244.154.0", 22), "deny"}, // profile would allow; the tier drops first
		{"caliabc", true, udpTo("10.244.154.0", "192.0.2.53", 53), "allow"},
		{"caliabc", true, tcpTo("10.244.154.0", "192.0.2.1", 22), "allow"},
	} {
		if got := verdict(p, c.ep, c.egress, c.pk); got != c.want {
			t.Errorf("%+v egress=%v: %s, want %s", c.pk, c.egress, got, c.want)
		}
	}
	// Without the policy the profile isolates the network: its members only.
	m.DeleteGlobalNetworkPolicy("default.allow-icmp-and-dns")
	p, _ = m.Flush()
	if got := verdict(p, "caliabc", false, tcpTo("10.244.7.1", "10.244.154.0", 22)); got != "allow" {
		t.Errorf("from the same network: %s", got)
	}
	if got := verdict(p, "caliabc", false, tcpTo("10.244.8.1", "10.244.154.0", 22)); got != "deny" {
		t.Errorf("from outside the network: %s", got)
	}
}
