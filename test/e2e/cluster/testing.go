package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CloseWhenDone tears the cluster down when tb ends and, if tb failed, first logs the last
// tailLines lines of every process log. Cleanups the caller registers afterwards run before
// both (testing runs them last-in, first-out), while the processes are still there.
func (c *Cluster) CloseWhenDone(tb testing.TB, tailLines int) {
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("tearing down: %v", err)
		}
	})
	tb.Cleanup(func() {
		if tb.Failed() {
			c.LogTails(tb, tailLines)
		}
	})
}

// LogTails logs the last n lines of every process log of the cluster.
func (c *Cluster) LogTails(tb testing.TB, n int) {
	files, _ := filepath.Glob(filepath.Join(c.LogDir(), "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		tb.Logf("---- %s (last %d lines) ----\n%s", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
}
