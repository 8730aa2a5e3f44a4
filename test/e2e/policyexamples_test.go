package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// TestPolicyCalicoExamples applies, unchanged, the GlobalNetworkPolicy Calico stored in
// etcd (the record of the reference dump, JSON with uid and creationTimestamp) and the
// sample policies of Calico's resource reference (test/fixtures/policy, source URLs in the
// files), one at a time, and probes what each allows and what it drops.
func TestPolicyCalicoExamples(t *testing.T) {
	e := startMatrix(t, []ctSpec{
		{"fe", "node1", cluster.ContainerOptions{Namespace: "production", Labels: lbl("role", "frontend")}},
		{"other", "node1", cluster.ContainerOptions{Namespace: "production", Labels: lbl("role", "other")}},
		{"feg", "node1", cluster.ContainerOptions{Labels: lbl("role", "frontend")}},
		{"db", "node2", cluster.ContainerOptions{Namespace: "production", Labels: lbl("role", "database")}},
		{"dbg", "node2", cluster.ContainerOptions{Labels: lbl("role", "database")}},
		{"plain", "node2", cluster.ContainerOptions{}},
	})
	examples := []struct {
		file string
		row  row
	}{
		{"etcd-dump-globalnetworkpolicy.json", row{name: "calico-etcd-dump.txt: default.allow-icmp-and-dns (selector all())", checks: []check{
			tcp("fe", "plain", 80, true), // TCP 80, 443 from 10.244.0.0/16 (the pool)
			tcp("fe", "plain", 443, true),
			{"fe", "plain", "icmp", 0, true},
			tcp("fe", "plain", 8081, false), // no ingress rule: end of the default tier
			udp("fe", "plain", 53, false),   // egress allows UDP 53, ingress does not
			tcp("plain", "dbg", 443, true),
		}}},
		{"docs-globalnetworkpolicy.yaml", row{name: "docs: GlobalNetworkPolicy allow-tcp-6379", checks: []check{
			tcp("fe", "dbg", 6379, true),
			tcp("feg", "db", 6379, true), // global: frontends of any namespace
			tcp("other", "dbg", 6379, false),
			tcp("fe", "dbg", 8081, false),
			tcp("dbg", "fe", 8081, true), // egress: Allow
		}}},
		{"docs-networkpolicy.yaml", row{name: "docs: NetworkPolicy allow-tcp-6379 (namespace production)", checks: []check{
			tcp("fe", "db", 6379, true),
			tcp("feg", "db", 6379, false), // a frontend, but not in production
			tcp("other", "db", 6379, false),
			tcp("fe", "db", 8081, false),
			tcp("fe", "dbg", 8081, true), // dbg is in default: not selected, profile allows
		}}},
	}
	for _, ex := range examples {
		doc, err := os.ReadFile(filepath.Join("..", "fixtures", "policy", ex.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.c.Apply(string(doc)); err != nil {
			t.Fatalf("%s: %v", ex.file, err)
		}
		start := time.Now()
		res := e.waitRows([]*row{&ex.row}, 30*time.Second)
		tab, bad := table(res)
		t.Logf("%s (%v):\n%s", ex.file, time.Since(start).Round(time.Millisecond), tab)
		if bad > 0 {
			t.Errorf("%s: %d probes with the wrong verdict (table above)", ex.file, bad)
		}
		if out, err := e.c.Ctl(doc, "delete", "-f", "-"); err != nil {
			t.Fatalf("delete %s: %v\n%s", ex.file, err, out)
		}
	}
}
