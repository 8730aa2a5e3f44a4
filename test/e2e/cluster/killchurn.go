package cluster

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// BuildBinary builds the full brindle binary (as the e2e tests do) into dir, from the module
// root found above the working directory, or returns $BRINDLE_E2E_BIN when it is set. The
// fault suites (test/fault/...) use it from their TestMain.
func BuildBinary(dir string) (string, error) {
	if p := os.Getenv("BRINDLE_E2E_BIN"); p != "" {
		return filepath.Abs(p)
	}
	root, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		root = parent
	}
	bin := filepath.Join(dir, "brindle")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// KillAgent sends SIGKILL to the host's agent (no graceful stop: no deferred cleanup, no
// BGP NOTIFICATION, sockets closed by the kernel), waits for it to exit and forgets it, so
// StartAgent can start it again.
func (c *Cluster) KillAgent(host string) (*Agent, error) {
	c.mu.Lock()
	a := c.agents[host]
	delete(c.agents, host)
	c.mu.Unlock()
	if a == nil {
		return nil, fmt.Errorf("no agent runs on %s", host)
	}
	if err := syscall.Kill(a.Proc.PID, syscall.SIGKILL); err != nil {
		return a, fmt.Errorf("SIGKILL to the agent on %s (pid %d): %w", host, a.Proc.PID, err)
	}
	select {
	case <-a.Proc.Done():
		return a, nil
	case <-time.After(10 * time.Second):
		return a, fmt.Errorf("the agent on %s (pid %d) still runs 10 s after SIGKILL", host, a.Proc.PID)
	}
}

// Monitor runs a command that prints events (`ip monitor route`, `nft monitor`) in a
// namespace and keeps its output lines until Stop.
type Monitor struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

// StartMonitor starts path with args in n. The first line of output is not awaited: callers
// give it a moment (monitors subscribe before they print anything).
func StartMonitor(n *testbed.Netns, path string, args ...string) (*Monitor, error) {
	m := &Monitor{cmd: exec.Command(path, args...), done: make(chan struct{})}
	out, err := m.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	m.cmd.Stderr = m.cmd.Stdout
	if err := n.StartCmd(m.cmd); err != nil {
		return nil, err
	}
	go func() {
		defer close(m.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			m.mu.Lock()
			m.lines = append(m.lines, sc.Text())
			m.mu.Unlock()
		}
	}()
	time.Sleep(300 * time.Millisecond) // let it subscribe
	return m, nil
}

// Lines returns what the monitor printed so far.
func (m *Monitor) Lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines...)
}

// Stop kills the monitor (by PID) and returns every line it printed.
func (m *Monitor) Stop() []string {
	_ = m.cmd.Process.Kill()
	<-m.done
	_ = m.cmd.Wait()
	return m.Lines()
}

// ProcCPU is a process's user+system CPU time (all threads) from /proc/<pid>/stat. CPU time
// resists a busy machine better than wall time: waiting for a core does not count.
func ProcCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var ut, st int64
	if _, err := fmt.Sscan(f[11], &ut); err != nil {
		return 0, err
	}
	if _, err := fmt.Sscan(f[12], &st); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}

// ProcRSS is a process's VmRSS in KiB.
func ProcRSS(pid int) (int64, error) { return ProcStatusKiB(pid, "VmRSS:") }

// ProcStatusKiB reads a "<field> <n> kB" line of /proc/<pid>/status (VmRSS:, RssAnon:,
// RssFile:, ...). RssAnon is what a leak grows; RssFile is the binary's pages, which grow as
// more of its code runs for the first time.
func ProcStatusKiB(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			var kib int64
			_, err := fmt.Sscan(f[1], &kib)
			return kib, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
