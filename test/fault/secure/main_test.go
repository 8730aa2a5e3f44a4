// Package secure is the security part of the fault suite (issue #16): etcd with client
// certificates for every component (agent, CNI plugin, CLI, Docker plugin), rotation of
// those files without a restart, etcd username and password, and the modes and bind
// addresses of what the agent leaves on the host. Real processes of the built binary on
// the namespace test bed; needs root. BRINDLE_E2E_BIN=path reuses a built binary.
package secure

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// helperEnv makes the test binary act as a small etcd client (etcdctl's role) inside a
// namespace: the datastore listens only in the bed's router namespace.
const helperEnv = "BSEC_HELPER"

// testBin is the binary under test (cluster.Binary: one build per run, or BRINDLE_E2E_BIN).
var testBin cluster.Binary

func brindleBin(t *testing.T) string { return testBin.Path(t) }

func TestMain(m *testing.M) {
	if op := os.Getenv(helperEnv); op != "" {
		os.Exit(helperMain(op))
	}
	code := m.Run()
	testBin.Remove()
	os.Exit(code)
}

// helperMain connects with Calico's ETCD_* variables and does one thing:
// "enable-auth" (root and BSEC_USER/BSEC_PASSWORD with readwrite on /calico/), or
// "get" (prints "<modRevision> <revision> <value>" of BSEC_KEY, "0 <revision>" if absent).
func helperMain(op string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := store.ConfigFromEnv()
	cfg.DialTimeout = 3 * time.Second
	sc, err := store.Connect(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sc.Close()
	switch op {
	case "enable-auth":
		err = datastore.EnableAuth(ctx, sc.Etcd(), "root-"+os.Getenv("BSEC_PASSWORD"), os.Getenv("BSEC_USER"), os.Getenv("BSEC_PASSWORD"))
	case "get":
		resp, gerr := sc.Etcd().Get(ctx, os.Getenv("BSEC_KEY"))
		if err = gerr; err == nil {
			if len(resp.Kvs) == 0 {
				fmt.Printf("0 %d\n", resp.Header.Revision)
			} else {
				fmt.Printf("%d %d %s\n", resp.Kvs[0].ModRevision, resp.Header.Revision, resp.Kvs[0].Value)
			}
		}
	default:
		err = fmt.Errorf("unknown helper op %q", op)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helper runs the helper in the router namespace with env (ETCD_* and BSEC_*).
func helper(c *cluster.Cluster, op string, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	return c.Bed.Router.Run(ctx, testbed.RunOptions{Path: self,
		Env: append([]string{helperEnv + "=" + op, "ETCD_ENDPOINTS=" + c.Endpoints}, env...)})
}

// startCluster starts a bed with node1 and node2 on one subnet, the datastore (plain http
// for now) and a pool without encapsulation.
func startCluster(t *testing.T) *cluster.Cluster {
	t.Helper()
	testbed.RequireRoot(t)
	for _, v := range []string{"ETCD_ENDPOINTS", "ETCD_CA_CERT_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_USERNAME", "ETCD_PASSWORD"} {
		t.Setenv(v, "") // every process gets its settings from the test alone
	}
	c, err := cluster.Start(cluster.Options{Binary: brindleBin(t), WorkDir: t.TempDir(),
		Bed: testbed.Options{Prefix: "bsec-", Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}}})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 60)
	doc, err := cluster.Seed("default-ipv4-ippool.yaml")
	if err == nil {
		doc, err = cluster.SetField(doc, "ipipMode", "Never")
	}
	if err == nil {
		doc, err = cluster.SetField(doc, "vxlanMode", "Never")
	}
	if err == nil {
		err = c.Apply(doc)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// envWrap runs a process with more environment (AgentOptions.Wrap): how a unit's
// EnvironmentFile gives the agent its ETCD_* settings.
func envWrap(env ...string) []string { return append([]string{"env"}, env...) }

// wantFail checks a command failed and its output says every one of want.
func wantFail(t *testing.T, what string, out string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded; want a refusal (output %q)", what, out)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error does not say %q:\n%v", what, w, err)
		}
	}
	t.Logf("%s: refused as expected: %s", what, lineWith(err.Error(), want))
}

// lineWith is the first line of s that holds the first of want (else its last line).
func lineWith(s string, want []string) string {
	for _, l := range strings.Split(s, "\n") {
		if len(want) > 0 && strings.Contains(l, want[0]) {
			return strings.TrimSpace(l)
		}
	}
	return lastLine(s)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
