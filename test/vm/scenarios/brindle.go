package scenarios

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// BrindleBin is the brindle binary the scenarios drive: $BRINDLE_BIN (the runner sets
// /tmp/brindle, copied from the share), else bin/brindle of this work tree for a run outside the VM.
func BrindleBin(t testing.TB) string {
	t.Helper()
	p := os.Getenv("BRINDLE_BIN")
	if p == "" {
		p = "../../../bin/brindle"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("brindle binary %s: %v (make build; the runner copies bin/brindle)", p, err)
	}
	return p
}

// BrindleOptions is one brindle process in a namespace.
type BrindleOptions struct {
	Name string   // label and log file name, e.g. "node1-agent"
	Args []string // e.g. {"node", "run"}
	Env  []string // e.g. ETCD_ENDPOINTS=http://172.30.1.1:12379, NODENAME=node1
}

// StartBrindle starts a long-running brindle role (datastore run, node run) in n. It is
// stopped by PID when the test ends, and its log is printed if the test failed.
func StartBrindle(t testing.TB, n *testbed.Netns, o BrindleOptions) *testbed.Proc {
	t.Helper()
	return testbed.StartProc(t, n, testbed.ProcOptions{
		Name: o.Name, Path: BrindleBin(t), Args: o.Args, Env: o.Env,
	})
}

// RunBrindle runs a one-shot brindle command (apply, get, node status ...) in n and fails
// the test if it exits non-zero.
func RunBrindle(t testing.TB, n *testbed.Netns, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := n.Run(ctx, testbed.RunOptions{Path: BrindleBin(t), Args: args, Env: env})
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}
