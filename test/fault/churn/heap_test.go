package churn

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// profileDir is BRINDLE_SOAK_PROFILE: if set, the agents serve Go's profiles on their health
// port (BRINDLE_DEBUG_PPROF=1) and the soak saves node1's heap profile there after the
// warm-up and at every progress report (compare them with `go tool pprof -base`).
func profileDir(t *testing.T) string {
	d := os.Getenv("BRINDLE_SOAK_PROFILE")
	if d != "" {
		t.Setenv("BRINDLE_DEBUG_PPROF", "1")
		// Record every allocation (the default samples one per 512 KiB, too coarse to see
		// a few bytes per container).
		t.Setenv("GODEBUG", "memprofilerate=1")
	}
	return d
}

// goMem is what the agent's Go runtime says about its memory (MiB), from /metrics on its
// health port: the heap in use (live objects and garbage not yet collected) and the heap
// pages the runtime holds (heap_sys - heap_released: in use, or idle but not yet handed
// back to the kernel), the part of RssAnon the runtime decides.
type goMem struct{ inuse, held float64 }

func (g goMem) String() string { return fmt.Sprintf("heap in use %.1f, held %.1f", g.inuse, g.held) }

// readGoMem reads goMem, or -1s if it cannot.
func readGoMem(c *cluster.Cluster, h string) goMem {
	g := goMem{-1, -1}
	out, err := run(c.Host(h).Netns, "curl", "-s", "-m", "10", fmt.Sprintf("http://127.0.0.1:%d/metrics", cluster.HealthPort))
	if err != nil {
		return g
	}
	v := map[string]float64{}
	for _, l := range strings.Split(out, "\n") {
		if name, val, ok := strings.Cut(l, " "); ok && strings.HasPrefix(name, "go_memstats_heap_") {
			if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				v[name] = f / (1 << 20)
			}
		}
	}
	if x, ok := v["go_memstats_heap_inuse_bytes"]; ok {
		g.inuse = x
	}
	if s, ok := v["go_memstats_heap_sys_bytes"]; ok {
		g.held = s - v["go_memstats_heap_released_bytes"]
	}
	return g
}

// saveHeapProfile writes node1's heap profile (after a collection) to dir/heap-<tag>.pb.gz.
func saveHeapProfile(t *testing.T, c *cluster.Cluster, dir, tag string) {
	if dir == "" {
		return
	}
	path := filepath.Join(dir, "heap-"+tag+".pb.gz")
	if out, err := run(c.Host("node1").Netns, "curl", "-s", "-m", "20", "-o", path,
		fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", cluster.HealthPort)); err != nil {
		t.Logf("heap profile %s: %v %s", tag, err, out)
	}
}
