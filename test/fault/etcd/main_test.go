// Package etcdfault is issue #16's datastore fault suite: three `brindle datastore run`
// members in namespaces of their own, agents with BGP in three hosts, containers added and
// removed through the CNI plugin all along, pings between existing containers, and faults
// in sequence: the leader killed, a member partitioned from its peers, the whole cluster
// down, one host cut off from the datastore. Needs root. BRINDLE_E2E_BIN=path reuses a
// built binary; BRINDLE_FAULT_OUTAGE (a Go duration, default 60s) sets how long the
// cluster stays down and the host stays cut off (`make test-faults-long` runs longer ones).
package etcdfault

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
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

// brindleBin builds the full binary once (as test/e2e does) unless BRINDLE_E2E_BIN names one.
func brindleBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("BRINDLE_E2E_BIN"); p != "" {
			binPath, buildErr = filepath.Abs(p)
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "bfe-bin-"); buildErr != nil {
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

// outage is how long the cluster stays down and the host stays cut off.
func outage(t *testing.T) time.Duration {
	s := os.Getenv("BRINDLE_FAULT_OUTAGE")
	if s == "" {
		return 60 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		t.Fatalf("BRINDLE_FAULT_OUTAGE=%q: want a Go duration of at least 1s", s)
	}
	return d
}
