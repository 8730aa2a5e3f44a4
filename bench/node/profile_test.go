package nodebench

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/node"
	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

// With BNB_PROFILE=<dir>, BenchmarkAgentColdStart runs the agent as this test binary
// re-executed in the host's namespace (TestAgentHelper: node.Run, the same code `node run`
// calls) with a CPU profile, and writes <dir>/<mode>-<n>-start.pprof, -changes.pprof and -heap.pprof (live heap after the first sync), so
// that a slow spot can be located. The figures of such a run include profiling overhead.

const helperEnv = "BNB_AGENT_HELPER"

type helperConfig struct {
	Name, IP, StateDir, Endpoints string
	HealthPort                    int
	Profile                       string // CPU profile from start until SIGUSR1
	Profile2                      string // from SIGUSR1 until SIGTERM
}

// TestAgentHelper is not a test: the profiling mode of the benchmark re-executes the test
// binary with it.
func TestAgentHelper(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("helper process for BNB_PROFILE runs only")
	}
	var c helperConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(c.Profile)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		<-usr1
		pprof.StopCPUProfile()
		f.Close()
		// What is live after the first sync (after a GC): where the RSS goes.
		if hf, err := os.Create(strings.TrimSuffix(c.Profile, "-start.pprof") + "-heap.pprof"); err == nil {
			runtime.GC()
			_ = pprof.WriteHeapProfile(hf)
			hf.Close()
		}
		f2, err := os.Create(c.Profile2)
		if err == nil {
			_ = pprof.StartCPUProfile(f2)
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := store.Connect(ctx, store.Config{Endpoints: []string{c.Endpoints}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = node.Run(ctx, node.Options{Name: c.Name, IP: c.IP, StateDir: c.StateDir, HealthPort: c.HealthPort,
		Dataplane: true, Store: st})
	pprof.StopCPUProfile()
	if err != nil {
		t.Fatal(err)
	}
}

// startProfiledAgent starts TestAgentHelper as node1's agent and waits for readiness.
func startProfiledAgent(b *testing.B, c *cluster.Cluster, dir, tag string) *cluster.Agent {
	h := c.Host("node1")
	cfg := helperConfig{Name: "node1", IP: h.Addr.String(), StateDir: c.StateDir("node1"), Endpoints: c.Endpoints,
		HealthPort: cluster.HealthPort, Profile: filepath.Join(dir, tag+"-start.pprof"),
		Profile2: filepath.Join(dir, tag+"-changes.pprof")}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	p, err := h.Start(profOptions(c, string(raw)))
	if err != nil {
		b.Fatal(err)
	}
	c.Track(p)
	a := &cluster.Agent{Host: h, StateDir: cfg.StateDir, Proc: p}
	if err := a.WaitReady(60 * time.Second); err != nil {
		b.Fatal(err)
	}
	return a
}

func profOptions(c *cluster.Cluster, cfg string) testbed.ProcOptions {
	return testbed.ProcOptions{Name: "agent-node1-profiled", Path: os.Args[0], LogDir: c.LogDir(),
		Args: []string{"-test.run=^TestAgentHelper$"}, Env: []string{helperEnv + "=" + cfg}}
}
