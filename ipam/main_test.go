package ipam

import (
	"os"
	"testing"
)

// TestMain keeps the cross-process queue's lock files of this test binary out of the host's
// state dir, so that tests of other packages running at the same time do not queue behind us.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bipam-state-")
	if err != nil {
		panic(err)
	}
	os.Setenv("BRINDLE_STATE_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
