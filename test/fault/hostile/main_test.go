// Package hostile writes broken records with etcdctl under every key prefix brindle reads
// (issue 16 item 5) into a running namespace cluster, and feeds the CLI hostile manifests
// and selectors. It needs root. BRINDLE_E2E_BIN=path reuses a built binary; for debugging,
// BHST_KEEP_LOGS=dir keeps the process logs (and a goroutine dump of a stalled agent),
// BHST_SKIP=variant,... and BHST_ONLY=key-substring narrow the broken records written.
package hostile

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// brindleBin builds the full binary once per run, as the e2e package does.
func brindleBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("BRINDLE_E2E_BIN"); p != "" {
			binPath, buildErr = filepath.Abs(p)
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "bhst-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "brindle")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, ".")
		cmd.Dir = "../../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{string(out), err}
		}
	})
	if buildErr != nil {
		t.Fatalf("building brindle: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
