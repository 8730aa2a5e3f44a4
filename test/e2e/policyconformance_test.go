package e2e

import (
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestPolicyMatrix is issue #11's conformance matrix: real TCP, UDP and ICMP probes from
// containers on node1 to containers on node2 (and to the hosts), one row per semantic
// (policyrows_test.go), every row checked both ways. Phase 1 applies every row's policy at
// once; phase 2 changes labels, FelixConfiguration, a policy, a network set live and deletes
// a policy, and checks the rows that follow.
func TestPolicyMatrix(t *testing.T) {
	for i := range matrixRows {
		var yes, no bool
		for _, k := range matrixRows[i].checks {
			yes, no = yes || k.want, no || !k.want
		}
		if !yes || !no {
			t.Fatalf("row %q must have a probe that passes and one that is dropped", matrixRows[i].name)
		}
	}
	e := startMatrix(t, matrixContainers)
	c := e.c
	if err := setWEPSpec(c, e.cts["tnamed"], "ports", []map[string]any{{"name": "web", "protocol": "TCP", "port": 8087}}); err != nil {
		t.Fatal(err)
	}
	if err := setWEPSpec(c, e.cts["cli2"], "serviceAccountName", "sa1"); err != nil {
		t.Fatal(err)
	}
	cli1 := e.cts["cli1"]
	link, err := cli1.NS.NL.LinkByName("eth0")
	if err == nil {
		err = cli1.NS.NL.AddrAdd(link, &netlink.Addr{IPNet: ipNet32(forgedSrc)})
	}
	if err != nil {
		t.Fatalf("forged address on cli1: %v", err)
	}

	phase := func(n int) []*row {
		var rows []*row
		for i := range matrixRows {
			if matrixRows[i].phase == n {
				rows = append(rows, &matrixRows[i])
			}
		}
		return rows
	}
	var docs []string
	for _, r := range phase(1) {
		if r.setup != "" {
			doc, err := e.render(r.setup)
			if err != nil {
				t.Fatalf("row %q: %v", r.name, err)
			}
			docs = append(docs, strings.TrimSpace(doc))
		}
	}
	if err := c.Apply(strings.Join(docs, "\n---\n")); err != nil {
		t.Fatal(err)
	}
	e.check(t, "phase 1", phase(1))

	// Phase 2: live changes.
	for _, args := range [][]string{
		{"label", "workloadendpoint", "node1-cni-cli1-eth0", "vip=true", "-n", "default"},
		{"label", "workloadendpoint", "node2-cni-tlabel2-eth0", "row=label", "--overwrite", "-n", "default"},
	} {
		if out, err := c.Ctl(nil, args...); err != nil {
			t.Fatalf("brindle %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	doc, err := e.render(phase2Apply)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(doc); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Ctl([]byte(phase2Delete), "delete", "-f", "-"); err != nil {
		t.Fatalf("delete: %v\n%s", err, out)
	}
	e.check(t, "phase 2", phase(2))
	if !t.Failed() {
		policyPhase3(t, e)
	}
}
