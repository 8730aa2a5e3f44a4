package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// phase3Rows are checked after the kernel side is disturbed: a container deleted and added
// again under the same name (CNI DEL + ADD: same endpoint name, same host interface name),
// then brindle's table flushed by another tool on node2.
var phase3Rows = []row{
	{name: "container deleted and added again (CNI DEL + ADD, same name)", phase: 3, checks: []check{
		tcp("cli1", "tlabel", 8081, true), // cli1 has vip=true since phase 2
		tcp("cli2", "tlabel", 8081, false),
	}},
	{name: "after `nft flush table ip brindle` on node2: restored", phase: 3, checks: []check{
		tcp("cli1", "tdeny", 8082, true),
		tcp("cli1", "tdeny", 8081, false),
		{"cli1", "tspoof", "forged", 0, false},
		{"cli1", "tspoof", "sink", 0, true},
		tcp("clinb", "tnet", 8081, false),
		tcp("cli1", "tnet", 8081, true),
	}},
}

func policyPhase3(t *testing.T, e *matrixEnv) {
	old := e.cts["tlabel"]
	e.srv["tlabel"].close()
	if err := e.c.DelContainer(old); err != nil {
		t.Fatal(err)
	}
	ct, err := e.c.AddContainerWith(old.Host, old.Name, old.Opts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve(ct)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.close)
	e.cts["tlabel"], e.srv["tlabel"] = ct, srv
	e.check(t, "phase 3a (container re-added)", []*row{&phase3Rows[0]})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := e.c.Host("node2").Run(ctx, testbed.RunOptions{Path: "nft", Args: []string{"flush", "table", "ip", "brindle"}}); err != nil {
		t.Fatalf("nft flush table: %v\n%s", err, out)
	}
	e.check(t, "phase 3b (table flushed on node2)", []*row{&phase3Rows[1]})
}

// check waits for rows to hold, logs the table with the time it took and fails on any
// probe with the wrong verdict.
func (e *matrixEnv) check(t *testing.T, what string, rows []*row) {
	t.Helper()
	start := time.Now()
	res := e.waitRows(rows, 30*time.Second)
	tab, bad := table(res)
	t.Logf("%s (%v):\n%s", what, time.Since(start).Round(time.Millisecond), tab)
	if bad > 0 {
		t.Errorf("%s: %d probes with the wrong verdict (table above)", what, bad)
	}
}
