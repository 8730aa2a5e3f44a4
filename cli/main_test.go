package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain lets the test binary stand in for brindle: installed by `brindle install` in a
// scratch root and run through its CNI links (argv[0] calico, calico-ipam) or as brindle,
// it dispatches exactly as the real binary does.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "brindle", "calico", "calico-ipam":
		os.Exit(Run(os.Args))
	}
	os.Exit(m.Run())
}
