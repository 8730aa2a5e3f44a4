// Package benchutil holds what the benchmarks share: the binary under test, the printed
// table, the machine's load (the machine is shared, so every table says how busy it was) and
// a process's memory from /proc.
package benchutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BrindleBin is the lean bin/brindle that `make build` produces, as seen from a benchmark
// package two levels down (bench/<name>), or $BRINDLE_BIN; it fails tb when missing. Daemon
// roles exec the embedded full build in the same PID, so /proc/<pid> of the started process
// is the agent.
func BrindleBin(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("BRINDLE_BIN")
	if p == "" {
		p = "../../bin/brindle"
	}
	abs, err := filepath.Abs(p)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		tb.Fatalf("brindle binary %s: %v (run `make build` first, or set BRINDLE_BIN)", p, err)
	}
	return abs
}

// Table prints a markdown table under title with the machine's load: a header row, then
// rows, every cell padded to its column.
func Table(title string, header []string, rows [][]string) {
	w := make([]int, len(header))
	for i, h := range header {
		w[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	line := func(cells []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, c := range cells {
			fmt.Fprintf(&sb, " %-*s |", w[i], c)
		}
		fmt.Println(sb.String())
	}
	fmt.Printf("\n%s (load average %s)\n", title, LoadAvg())
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", w[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}

// LoadAvg is /proc/loadavg's first three fields, or "?".
func LoadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ProcKiB reads a "<name> <n> kB" line of /proc/<pid>/status (name is "VmRSS:", "VmHWM:", ...).
func ProcKiB(pid int, name string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, name); ok {
			var kb int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}
