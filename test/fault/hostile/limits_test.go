package hostile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/store"
	"github.com/brindle-net/brindle/test/e2e/cluster"
)

// goodGNP comes first in every hostile manifest: apply must write nothing when any document
// is bad, so it must not appear afterwards.
const goodGNP = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: limits-good
spec:
  selector: all()
`

func gnpWithSelector(name, sel string) string {
	return "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: " + name +
		"\nspec:\n  selector: '" + sel + "'\n"
}

// hostileManifests: each manifest is refused with a clear message, non-zero exit, quickly,
// and nothing of it is written (the good document before the bad one included).
func hostileManifests(t *testing.T, c *cluster.Cluster, fig *figures) {
	laughs := "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: lol\n  labels: {a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]}\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += "  " + n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
		prev = n
	}
	cases := []struct {
		name, doc, want string
	}{
		{"100k-deep JSON", `[` + strings.Repeat(`{"a":[`, 50000) + strings.Repeat(`]}`, 50000) + `]`, "depth"},
		{"100k-deep YAML flow", goodGNP + "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: deep\nspec: " +
			strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n", "depth"},
		{"billion laughs", goodGNP + laughs, "alias"},
		{"100 MB file", goodGNP + "---\n# " + strings.Repeat("x", 100<<20) + "\n", "larger than"},
		{"1 MB document", goodGNP + "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: big\n  annotations:\n    a: " +
			strings.Repeat("x", 2<<20) + "\n", "document"},
		{"1 MB selector", goodGNP + gnpWithSelector("limits-bigsel", `a == "`+strings.Repeat("x", 1<<20)+`"`), "spec.selector"},
		{"100k nested parentheses", goodGNP + gnpWithSelector("limits-deepsel", strings.Repeat("(", 100000)+"all()"+strings.Repeat(")", 100000)), "spec.selector"},
		{"100k negations", goodGNP + gnpWithSelector("limits-notsel", strings.Repeat("!", 100000)+"has(a)"), "spec.selector"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		path := filepath.Join(dir, "manifest.yaml")
		if err := os.WriteFile(path, []byte(tc.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		out, err := c.Ctl(nil, "apply", "-f", path)
		took := since(start)
		if err == nil {
			t.Errorf("%s: apply succeeded:\n%s", tc.name, clip(out))
			continue
		}
		if !strings.Contains(out, tc.want) || len(out) > 4096 {
			t.Errorf("%s: the error does not say %q in a few lines (%d bytes):\n%s", tc.name, tc.want, len(out), clip(out))
		}
		if strings.Contains(out, "goroutine ") {
			t.Errorf("%s: apply crashed:\n%s", tc.name, clip(out))
		}
		fig.add(t, tc.name+" ("+itoa(len(tc.doc))+" bytes): refused in "+took+": "+firstLine(out))
	}
	keys := etcdctl(t, c, nil, "get", "--prefix", "--keys-only", store.ResourcePrefix)
	for _, name := range []string{"limits-", "/lol", "/deep", "/big"} {
		if strings.Contains(keys, name) {
			t.Errorf("a refused manifest left %q in the datastore:\n%s", name, clip(keys))
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
