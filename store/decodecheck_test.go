package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/datastore"
)

// JSON that decodes but is not a resource of the key's kind is a broken record, not a
// resource with an empty spec: a Tier or null under globalnetworkpolicies/ used to become a
// policy selecting every endpoint with no rules, which dropped all workload traffic
// (issue 16 item 5, found by test/fault/hostile).
func TestListRejectsWrongKindNullAndForeignVersion(t *testing.T) {
	s, w := datastore.StartTest(t)
	ctx := context.Background()
	mustCreate(t, w, pool("good", "10.1.0.0/24"))
	bad := map[string]string{
		"null":       `null`,
		"array":      `[]`,
		"wrongkind":  `{"kind":"Tier","apiVersion":"projectcalico.org/v3","metadata":{"name":"wrongkind"},"spec":{"order":1}}`,
		"apiversion": `{"kind":"IPPool","apiVersion":"projectcalico.org/v9","metadata":{"name":"apiversion"},"spec":{"cidr":"10.9.0.0/24"}}`,
	}
	for name, v := range bad {
		if _, err := w.PutKV(ctx, poolKey(name), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// Calico's own records carry kind and apiVersion; one without them (hand-written)
	// still decodes.
	if _, err := w.PutKV(ctx, poolKey("bare"), []byte(`{"metadata":{"name":"bare"},"spec":{"cidr":"10.7.0.0/24"}}`)); err != nil {
		t.Fatal(err)
	}
	c, logs := observed(t, s.ClientURLs())
	got, broken, _, err := c.ListWithBroken(ctx, "IPPool", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("want the good and the bare pool, got %d", len(got))
	}
	if len(broken) != len(bad) {
		t.Errorf("want %d broken records, got %d: %v", len(bad), len(broken), broken)
	}
	for _, b := range broken {
		name := b.Key[strings.LastIndex(b.Key, "/")+1:]
		if _, ok := bad[name]; !ok {
			t.Errorf("%s reported broken", b.Key)
		}
		if n := warningsFor(logs, b.Key); n != 1 {
			t.Errorf("%s: %d warnings, want 1", b.Key, n)
		}
	}
	for _, want := range []string{"a Tier is stored under the ippools prefix", `apiVersion "projectcalico.org/v9"`, "not a JSON object"} {
		found := false
		for _, b := range broken {
			found = found || strings.Contains(b.Error(), want)
		}
		if !found {
			t.Errorf("no broken record says %q: %v", want, broken)
		}
	}
}
