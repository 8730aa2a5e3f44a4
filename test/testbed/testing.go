package testbed

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Start builds a bed for a test and removes it when the test ends, also on failure.
func Start(t testing.TB, o Options) *Bed {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatalf("test bed: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("removing test bed: %v", err)
		}
	})
	return b
}

// StartProc starts a process in n for a test. When the test ends the process is stopped by PID
// and, if the test failed, its log is printed. LogDir defaults to a temp dir of the test.
func StartProc(t testing.TB, n *Netns, o ProcOptions) *Proc {
	t.Helper()
	if o.LogDir == "" {
		o.LogDir = t.TempDir()
	}
	p, err := n.Start(o)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(5 * time.Second); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("---- log of %s (pid %d, %s) ----\n%s", p.Name, p.PID, filepath.Base(p.LogPath), p.Logs())
		}
	})
	return p
}

// RequireRoot skips a test that needs namespaces when not running as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
}
