package hostile

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// bed: two nodes on one subnet (routes without encapsulation come from block affinities).
func bed() testbed.Options {
	return testbed.Options{Prefix: "bhst-", Subnets: []netip.Prefix{netip.MustParsePrefix("172.31.71.0/24")},
		Hosts: []testbed.HostOptions{{Name: "node1"}, {Name: "node2"}}}
}

// figures collects what the test measured, printed as one table at the end (-v).
type figures struct {
	mu   sync.Mutex
	rows []string
}

func (f *figures) add(t *testing.T, row string) {
	f.mu.Lock()
	f.rows = append(f.rows, row)
	f.mu.Unlock()
	t.Log(row)
}

// TestHostileInput writes every broken record under every prefix with etcdctl while the
// agents run, then checks that nothing stalls: a new container's block route, a policy
// change, an agent restart, the CLI and IPAM commands all still work and name the broken
// keys. The same cluster then takes hostile manifests and selectors (limits_test.go).
func TestHostileInput(t *testing.T) {
	testbed.RequireRoot(t)
	c, err := cluster.Start(cluster.Options{Bed: bed(), Binary: brindleBin(t), WorkDir: t.TempDir()})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	c.CloseWhenDone(t, 40)
	if d := os.Getenv("BHST_KEEP_LOGS"); d != "" {
		t.Cleanup(func() { exec.Command("cp", "-r", c.LogDir(), d).Run() })
	}
	pool, err := cluster.Seed("default-ipv4-ippool.yaml")
	if err == nil {
		pool, err = cluster.SetField(pool, "ipipMode", "Never")
	}
	if err == nil {
		err = c.Apply(pool)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"node1", "node2"} {
		if _, err := c.StartAgent(h, cluster.AgentOptions{NoBGP: true}); err != nil {
			t.Fatal(err)
		}
	}
	c1, err := c.AddContainer("node1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	var fig figures

	recs := hostileRecords()
	if skip := os.Getenv("BHST_SKIP"); skip != "" {
		var keep []record
		for _, r := range recs {
			only := os.Getenv("BHST_ONLY")
			if !strings.Contains(skip, r.variant) && (only == "" || strings.Contains(r.key, only)) {
				keep = append(keep, r)
			}
		}
		recs = keep
	}
	start := time.Now()
	for _, r := range recs {
		etcdctl(t, c, r.value, "put", r.key)
	}
	fig.add(t, "wrote "+itoa(len(recs))+" broken records with etcdctl in "+since(start))

	t.Run("updates after garbage take effect", func(t *testing.T) {
		// node2's first container: CNI ADD reads pools, blocks, affinities, handles and the
		// broken IPAM config; node1's agent must route to node2's new block, node2's must
		// program the endpoint.
		start := time.Now()
		c2, err := c.AddContainerWith("node2", "c2", cluster.ContainerOptions{Labels: map[string]string{"hostile": "target"}})
		if err != nil {
			t.Fatalf("CNI ADD with broken records present: %v", err)
		}
		fig.add(t, "CNI ADD on node2 with broken records: "+since(start))
		if err := cluster.WaitMatrix([]*cluster.Container{c1, c2}, 30*time.Second); err != nil {
			if os.Getenv("BHST_KEEP_LOGS") != "" {
				syscall.Kill(c.Agent("node1").Proc.PID, syscall.SIGQUIT)
				time.Sleep(time.Second)
			}
			t.Fatal(err)
		}
		fig.add(t, "new block route and endpoint programmed, c1<->c2 ping: "+since(start)+" after ADD started")
		denyPolicyTakesEffect(t, c, c1, c2, &fig)
	})

	t.Run("agents alive and each broken key logged once", func(t *testing.T) {
		for _, h := range []string{"node1", "node2"} {
			if a := c.Agent(h); a == nil || !a.Proc.Running() {
				t.Fatalf("agent on %s is not running", h)
			}
		}
		logged := brokenLines(t, filepath.Join(c.LogDir(), "agent-node1.log"))
		n := 0
		for _, r := range recs {
			got := logged[r.key]
			switch {
			case r.watched && got != 1:
				t.Errorf("%s (%s): agent logged it %d times, want once", r.key, r.variant, got)
			case !r.watched && got > 1:
				t.Errorf("%s (%s): agent logged it %d times, want at most once", r.key, r.variant, got)
			}
			if r.watched {
				n++
			}
		}
		fig.add(t, "agent on node1: "+itoa(n)+" watched broken keys, each logged once")
	})

	t.Run("CLI names broken keys", func(t *testing.T) { cliNamesBroken(t, c, recs, &fig) })

	t.Run("agent restart with broken records", func(t *testing.T) {
		start := time.Now()
		if _, err := c.RestartAgent("node1"); err != nil {
			t.Fatal(err)
		}
		fig.add(t, "agent restart on node1 with broken records: ready in "+since(start))
		if err := cluster.WaitMatrix(c.Containers(), 30*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("hostile manifests and selectors", func(t *testing.T) { hostileManifests(t, c, &fig) })

	t.Logf("figures:\n%s", strings.Join(fig.rows, "\n"))
}

// etcdctl runs the real etcdctl in the router namespace, where the datastore listens;
// value, if not nil, goes on stdin (put reads the value from there).
func etcdctl(t *testing.T, c *cluster.Cluster, value []byte, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := testbed.RunOptions{Path: "etcdctl", Args: append([]string{"--endpoints", c.Endpoints}, args...),
		Env: []string{"ETCDCTL_API=3"}}
	if value != nil {
		o.Stdin = bytes.NewReader(value)
	}
	out, err := c.Bed.Router.Run(ctx, o)
	if err != nil {
		t.Fatalf("etcdctl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// brokenLines counts the agent's "does not decode" warnings per key.
func brokenLines(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "does not decode") {
			continue
		}
		i := strings.Index(line, `"key":"`)
		if i < 0 {
			continue
		}
		rest := line[i+len(`"key":"`):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			out[rest[:j]]++
		}
	}
	return out
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
