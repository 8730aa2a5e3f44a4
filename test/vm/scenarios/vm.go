package scenarios

import (
	"os"
	"testing"
)

// RequireVM skips the test unless it runs inside the VM runner's guest, which sets
// BRINDLE_VM=1 in run.sh. The scenarios need kernel features (IPIP) this host lacks.
func RequireVM(t testing.TB) {
	t.Helper()
	if os.Getenv("BRINDLE_VM") != "1" {
		t.Skip("runs inside the qemu VM only: make test-vm")
	}
}

// nsPrefix starts every namespace the scenarios create (see docs/development.md).
const nsPrefix = "bvm-"
