package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
)

// A garbage value under ippools/ (etcdctl put) is one error line on stderr; the good pools are
// still listed, in every format, and `delete` removes the bad key (issue 10 item 3).
func TestGetShowsBrokenRecordAsErrorLine(t *testing.T) {
	e := newCLIEnv(t)
	e.ok(poolsYAML, "apply", "-f", "-")
	bad := store.ResourcePrefix + "ippools/broken"
	if _, err := e.store.PutKV(context.Background(), bad, []byte(`{"spec":{"cidr":`)); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"", "wide", "yaml", "json", "name"} {
		args := []string{"get", "ippools"}
		if format != "" {
			args = append(args, "-o", format)
		}
		r := e.run(args...)
		if r.err != nil {
			t.Fatalf("get -o %q failed as a whole on one broken record: %v", format, r.err)
		}
		if !strings.Contains(r.out, "pool-a") || !strings.Contains(r.out, "pool-b") {
			t.Errorf("get -o %q lost the good pools:\n%s", format, r.out)
		}
		if strings.Contains(r.out, bad) {
			t.Errorf("get -o %q: the error belongs on stderr, not in the listing:\n%s", format, r.out)
		}
		if lines := strings.Split(strings.TrimSpace(r.errOut), "\n"); len(lines) != 1 ||
			!strings.HasPrefix(lines[0], "error: "+bad) {
			t.Errorf("get -o %q: want one error line naming %s on stderr, got %q", format, bad, r.errOut)
		}
	}
	e.ok("", "delete", "ippool", "broken")
	if r := e.run("get", "ippools"); r.err != nil || r.errOut != "" {
		t.Fatalf("after delete: %v %q", r.err, r.errOut)
	}
}

// ipam show, check and gc step around IPAM records that do not decode.
func TestIPAMCommandsSurviveBrokenRecords(t *testing.T) {
	e := newCLIEnv(t)
	e.ok("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.244.0.0/16, blockSize: 24}\n", "apply", "-f", "-")
	ctx := context.Background()
	for k, v := range map[string]string{
		store.ResourcePrefix + "ippools/broken":           "{",
		store.BlockKey("10.244.7.0/24"):                   "garbage",
		store.HandleKey("junk"):                           "[",
		store.AffinityKey("node1", "10.244.7.0/24"):       "{",
		store.ResourcePrefix + "ipreservations/junk":      "x",
		store.ResourcePrefix + "workloadendpoints/d/junk": "x",
	} {
		if _, err := e.store.PutKV(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if out := e.ok("", "ipam", "show", "--show-blocks"); !strings.Contains(out, "10.244.0.0/16") {
		t.Errorf("ipam show:\n%s", out)
	}
	e.ok("", "ipam", "gc", "--dry-run")
	if r := e.run("ipam", "check"); r.err != nil && !strings.Contains(r.out, "undecodable") {
		t.Errorf("ipam check: %v\n%s", r.err, r.out)
	}
}
