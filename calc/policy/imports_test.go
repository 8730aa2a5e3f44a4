package policy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoIOImports keeps the model pure: it runs on the agent's loop and is tested with plain
// values, so nothing it depends on may reach the kernel, a process or etcd.
func TestNoIOImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/vishvananda/", "github.com/google/nftables", "golang.org/x/sys/unix",
			"os/exec", "go.etcd.io/", "github.com/brindle-net/brindle/store", "github.com/brindle-net/brindle/datastore",
			"github.com/brindle-net/brindle/dataplane"} {
			if strings.HasPrefix(imp, bad) {
				t.Errorf("calc/policy depends on %s; it must stay pure", imp)
			}
		}
	}
}
