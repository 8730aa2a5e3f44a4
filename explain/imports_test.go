package explain

import (
	"os/exec"
	"strings"
	"testing"
)

// The walk must stay pure: the CLI (lean build) links it, and its tests use plain values.
func TestNoIOImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		for _, f := range []string{"github.com/vishvananda/", "github.com/google/nftables", "golang.org/x/sys/unix", "os/exec", "go.etcd.io/",
			"github.com/brindle-net/brindle/store", "github.com/brindle-net/brindle/dataplane", "github.com/brindle-net/brindle/node"} {
			if strings.HasPrefix(imp, f) {
				t.Errorf("explain depends on %s; it must stay pure", imp)
			}
		}
	}
}
