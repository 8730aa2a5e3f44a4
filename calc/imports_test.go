package calc

import (
	"go/build"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the imports that would make calc do I/O. The calculation must stay pure so
// that it is tested with plain values and runs on the agent's one loop without blocking.
var forbidden = []string{
	"github.com/vishvananda/netlink",
	"github.com/vishvananda/netns",
	"github.com/google/nftables",
	"golang.org/x/sys/unix",
	"os/exec",
	"go.etcd.io/",
	"github.com/brindle-net/brindle/store",
	"github.com/brindle-net/brindle/datastore",
	"github.com/brindle-net/brindle/dataplane",
}

func isForbidden(imp string) bool {
	for _, f := range forbidden {
		if imp == f || strings.HasPrefix(imp, strings.TrimSuffix(f, "/")+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(imp, f)) {
			return true
		}
	}
	return false
}

func TestNoIOImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if isForbidden(imp) {
			t.Errorf("calc imports %s directly; calc must stay pure", imp)
		}
	}
	// Transitive imports too: a helper package pulling in netlink would defeat the point.
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable (%v); direct imports checked only", err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if isForbidden(imp) {
			t.Errorf("calc depends on %s (transitively); calc must stay pure", imp)
		}
	}
}

func TestForbiddenMatcher(t *testing.T) {
	for imp, want := range map[string]bool{
		"golang.org/x/sys/unix":                true,
		"go.etcd.io/etcd/client/v3":            true,
		"github.com/vishvananda/netlink/nl":    true,
		"github.com/brindle-net/brindle/store": true,
		"net/netip":                            false,
		"crypto/sha1":                          false,
		"github.com/brindle-net/brindle/api":   false,
	} {
		if got := isForbidden(imp); got != want {
			t.Errorf("isForbidden(%q) = %v, want %v", imp, got, want)
		}
	}
}
