// Package hostile writes broken records with etcdctl under every key prefix brindle reads
// (issue 16 item 5) into a running namespace cluster, and feeds the CLI hostile manifests
// and selectors. It needs root. BRINDLE_E2E_BIN=path reuses a built binary; for debugging,
// BHST_KEEP_LOGS=dir keeps the process logs (and a goroutine dump of a stalled agent),
// BHST_SKIP=variant,... and BHST_ONLY=key-substring narrow the broken records written.
package hostile

import (
	"os"
	"testing"

	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// testBin is the binary under test (cluster.Binary: one build per run, or BRINDLE_E2E_BIN).
var testBin cluster.Binary

func brindleBin(t *testing.T) string { return testBin.Path(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	testBin.Remove()
	os.Exit(code)
}
