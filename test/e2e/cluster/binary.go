package cluster

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// Binary is the full brindle build a test package runs. It is built once per test process
// on first use (BuildBinary) unless BRINDLE_E2E_BIN names one; `make test` builds it once
// and sets BRINDLE_E2E_BIN, so the e2e and fault packages share a single build.
type Binary struct {
	once sync.Once
	dir  string // what Remove deletes; empty when BRINDLE_E2E_BIN names the binary
	path string
	err  error
}

// Path returns the binary, building it on first use; a failed build fails the test.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if os.Getenv("BRINDLE_E2E_BIN") == "" {
			if b.dir, b.err = os.MkdirTemp("", "brindle-test-bin-"); b.err != nil {
				return
			}
		}
		b.path, b.err = BuildBinary(b.dir)
	})
	if b.err != nil {
		t.Fatalf("building brindle: %v", b.err)
	}
	return b.path
}

// Remove deletes a binary this process built; TestMain calls it after m.Run.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// RootMain is TestMain for a package whose every test needs root: without root it says so
// and passes; otherwise it runs the tests and removes the binary it built.
func (b *Binary) RootMain(m *testing.M, pkg string) int {
	if os.Geteuid() != 0 {
		fmt.Printf("skipping %s: needs root\n", pkg)
		return 0
	}
	defer b.Remove()
	return m.Run()
}
