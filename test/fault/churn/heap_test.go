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

// heapInuse reads the agent's go_memstats_heap_inuse_bytes from /metrics on its health port
// (MiB), or -1 if it cannot.
func heapInuse(c *cluster.Cluster, h string) float64 {
	out, err := run(c.Host(h).Netns, "curl", "-s", "-m", "10", fmt.Sprintf("http://127.0.0.1:%d/metrics", cluster.HealthPort))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "go_memstats_heap_inuse_bytes "); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return f / (1 << 20)
			}
		}
	}
	return -1
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
