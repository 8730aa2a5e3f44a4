package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"sigs.k8s.io/yaml"
)

const poolsYAML = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-a
spec:
  cidr: 10.10.0.0/16
  ipipMode: Always
  natOutgoing: true
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-b
spec:
  cidr: 10.20.0.0/16
  vxlanMode: CrossSubnet
  disabled: true
`

// squash collapses runs of spaces so table assertions do not depend on column widths.
func squash(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func TestGetIPPoolFormats(t *testing.T) {
	e := newCLIEnv(t)
	if got := e.ok(poolsYAML, "apply", "-f", "-"); got != "Successfully applied 2 'IPPool' resource(s)\n" {
		t.Fatalf("apply printed %q", got)
	}

	table := squash(e.ok("", "get", "ippools"))
	want := "NAME CIDR SELECTOR\npool-a 10.10.0.0/16 all()\npool-b 10.20.0.0/16 all()"
	if table != want {
		t.Errorf("get ippools:\n%s\nwant:\n%s", table, want)
	}
	// Flags after the arguments, as calicoctl users write them, and a kind alias.
	wide := squash(e.ok("", "get", "ipp", "-o", "wide"))
	want = "NAME CIDR NAT IPIPMODE VXLANMODE DISABLED DISABLEBGPEXPORT SELECTOR\n" +
		"pool-a 10.10.0.0/16 true Always Never false false all()\n" +
		"pool-b 10.20.0.0/16 false Never CrossSubnet true false all()"
	if wide != want {
		t.Errorf("get ipp -o wide:\n%s\nwant:\n%s", wide, want)
	}
	if got := e.ok("", "get", "ippools", "--output=name"); got != "pool-a\npool-b\n" {
		t.Errorf("-o name: %q", got)
	}
	// Global flags after the arguments work too.
	if r := runApp("", "brindle", "--config", "", "get", "ippools", "-o", "name", "--etcd-endpoints", e.endpoints); r.err != nil || r.out != "pool-a\npool-b\n" {
		t.Errorf("global flag after the arguments: %q %v", r.out, r.err)
	}
	if msg := e.fails("", "get", "ippools", "--bogus"); !strings.Contains(msg, "--bogus") {
		t.Errorf("unknown trailing flag: %q", msg)
	}

	// A list is calicoctl's IPPoolList; one named object is printed bare.
	var list struct {
		APIVersion, Kind string
		Items            []api.IPPool
		Metadata         struct{ ResourceVersion string }
	}
	if err := yaml.Unmarshal([]byte(e.ok("", "get", "ippools", "-o", "yaml")), &list); err != nil {
		t.Fatal(err)
	}
	if list.APIVersion != api.Group || list.Kind != "IPPoolList" || len(list.Items) != 2 ||
		list.Items[1].Spec.CIDR != "10.20.0.0/16" || list.Metadata.ResourceVersion == "" {
		t.Errorf("get -o yaml list: %+v", list)
	}
	var one api.IPPool
	if err := json.Unmarshal([]byte(e.ok("", "get", "ippool", "pool-a", "-o", "json")), &one); err != nil {
		t.Fatal(err)
	}
	if one.Kind != "IPPool" || one.Name != "pool-a" || !one.Spec.NATOutgoing || one.ResourceVersion == "" || one.UID == "" {
		t.Errorf("get ippool pool-a -o json: %+v", one)
	}
	var jl map[string]any
	if err := json.Unmarshal([]byte(e.ok("", "get", "ippools", "-o", "json")), &jl); err != nil || jl["kind"] != "IPPoolList" {
		t.Errorf("get -o json list: %v %v", jl, err)
	}

	if msg := e.fails("", "get", "ippool", "nope"); !strings.Contains(msg, "IPPool(nope)") || !strings.Contains(msg, "does not exist") {
		t.Errorf("get of a missing pool: %q", msg)
	}
	if msg := e.fails("", "get", "ippools", "-o", "xml"); !strings.Contains(msg, `"xml"`) {
		t.Errorf("bad format: %q", msg)
	}
	if msg := e.fails("", "get", "frobs"); !strings.Contains(msg, `"frobs"`) {
		t.Errorf("unknown kind: %q", msg)
	}
}

func TestCreateReplaceDelete(t *testing.T) {
	e := newCLIEnv(t)
	if got := e.ok(poolsYAML, "create", "-f", "-"); got != "Successfully created 2 'IPPool' resource(s)\n" {
		t.Fatalf("create printed %q", got)
	}
	if msg := e.fails(poolsYAML, "create", "-f", "-"); !strings.Contains(msg, "Failed to create 'IPPool' resource") || !strings.Contains(msg, "already exists") {
		t.Errorf("second create: %q", msg)
	}
	e.ok(poolsYAML, "create", "-f", "-", "--skip-exists")

	replaced := strings.Replace(poolsYAML, "natOutgoing: true", "natOutgoing: false", 1)
	if got := e.ok(replaced, "replace", "-f", "-"); got != "Successfully replaced 2 'IPPool' resource(s)\n" {
		t.Errorf("replace printed %q", got)
	}
	if w := squash(e.ok("", "get", "ippool", "pool-a", "-o", "wide")); !strings.Contains(w, "pool-a 10.10.0.0/16 false Always") {
		t.Errorf("after replace: %s", w)
	}
	ghost := strings.Replace(poolsYAML, "pool-a", "pool-ghost", 1)
	if msg := e.fails(ghost, "replace", "-f", "-"); !strings.Contains(msg, "pool-ghost") || !strings.Contains(msg, "does not exist") {
		t.Errorf("replace of a missing pool: %q", msg)
	}

	if got := e.ok("", "delete", "ippool", "pool-a"); got != "Successfully deleted 1 'IPPool' resource(s)\n" {
		t.Errorf("delete printed %q", got)
	}
	if msg := e.fails("", "delete", "ippool", "pool-a"); !strings.Contains(msg, "does not exist") {
		t.Errorf("second delete: %q", msg)
	}
	e.ok("", "delete", "ippool", "pool-a", "--skip-not-exists")
	if got := e.ok(poolsYAML, "delete", "-f", "-", "--skip-not-exists"); got != "Successfully deleted 1 'IPPool' resource(s)\n" {
		t.Errorf("delete -f: %q", got)
	}
	if got := squash(e.ok("", "get", "ippools")); got != "NAME CIDR SELECTOR" {
		t.Errorf("pools left after delete: %q", got)
	}
}

func TestInvalidMultiDocWritesNothing(t *testing.T) {
	e := newCLIEnv(t)
	bad := poolsYAML + `---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: pool-c
spec:
  cidr: 10.30.0.0/16
  blockSize: 99
`
	for _, verb := range []string{"create", "apply"} {
		msg := e.fails(bad, verb, "-f", "-")
		for _, want := range []string{"Failed to " + verb + " 'IPPool' resource", "document 3", "pool-c", "spec.blockSize"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s of an invalid third document: %q lacks %q", verb, msg, want)
			}
		}
	}
	if got := squash(e.ok("", "get", "ippools")); got != "NAME CIDR SELECTOR" {
		t.Errorf("an invalid document still let others be written: %q", got)
	}
	// A syntax error is reported before anything is written, too.
	if msg := e.fails(poolsYAML+"---\nkind: IPPool\napiVersion: projectcalico.org/v3\nmetadata: {name: x}\nspec: {cidrr: 1.2.3.0/24}\n", "apply", "-f", "-"); !strings.Contains(msg, "cidrr") {
		t.Errorf("unknown field: %q", msg)
	}
	if got := squash(e.ok("", "get", "ippools")); got != "NAME CIDR SELECTOR" {
		t.Errorf("a document with an unknown field still let others be written: %q", got)
	}
}

func TestLabelAndPatch(t *testing.T) {
	e := newCLIEnv(t)
	e.ok(poolsYAML, "apply", "-f", "-")
	if got := e.ok("", "label", "ippool", "pool-a", "team=net", "tier=core"); got !=
		"Successfully set label team on ippools pool-a\nSuccessfully set label tier on ippools pool-a\n" {
		t.Errorf("label printed %q", got)
	}
	if msg := e.fails("", "label", "ippool", "pool-a", "team=ops"); !strings.Contains(msg, "--overwrite") {
		t.Errorf("label without --overwrite: %q", msg)
	}
	e.ok("", "label", "ippool", "pool-a", "team=ops", "--overwrite")
	e.ok("", "label", "ippool", "pool-a", "tier-")
	if msg := e.fails("", "label", "ippool", "pool-a", "tier-"); !strings.Contains(msg, `"tier" is not set`) {
		t.Errorf("removing an absent label: %q", msg)
	}
	pool := getPool(t, e, "pool-a")
	if len(pool.Labels) != 1 || pool.Labels["team"] != "ops" {
		t.Errorf("labels after set/overwrite/remove: %v", pool.Labels)
	}
	e.ok("", "label", "ippool", "pool-a", "team", "--remove")
	if pool = getPool(t, e, "pool-a"); len(pool.Labels) != 0 {
		t.Errorf("labels after --remove: %v", pool.Labels)
	}

	before := getPool(t, e, "pool-b")
	if got := e.ok("", "patch", "ippool", "pool-b", "-p", `{"spec":{"natOutgoing":true,"disabled":null}}`); got != "Successfully patched 1 'IPPool' resource\n" {
		t.Errorf("patch printed %q", got)
	}
	after := getPool(t, e, "pool-b")
	if !after.Spec.NATOutgoing || after.Spec.Disabled || after.Spec.CIDR != before.Spec.CIDR ||
		after.UID != before.UID || after.ResourceVersion == before.ResourceVersion {
		t.Errorf("patch: before %+v after %+v", before, after)
	}
	for patch, want := range map[string]string{
		`{"spec":{"blockSize":99}}`:     "spec.blockSize",
		`{"spec":{"natOutgoin":true}}`:  "natOutgoin",
		`{"metadata":{"name":"other"}}`: "metadata.name",
		`not json`:                      "JSON",
	} {
		if msg := e.fails("", "patch", "ippool", "pool-b", "-p", patch); !strings.Contains(msg, want) {
			t.Errorf("patch %s: %q lacks %q", patch, msg, want)
		}
	}
	if got := getPool(t, e, "pool-b"); got.ResourceVersion != after.ResourceVersion {
		t.Errorf("a failed patch changed the pool: %+v", got)
	}
}

func getPool(t *testing.T, e *cliEnv, name string) api.IPPool {
	t.Helper()
	var p api.IPPool
	if err := yaml.Unmarshal([]byte(e.ok("", "get", "ippool", name, "-o", "yaml")), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPartialSuccess: a document that is valid on its own but refused by the datastore (here
// an overlapping pool) stops the run and says how many were written, as calicoctl does.
func TestPartialSuccess(t *testing.T) {
	e := newCLIEnv(t)
	overlapping := poolsYAML + "---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: pool-c}\nspec: {cidr: 10.10.1.0/24}\n"
	msg := e.fails(overlapping, "apply", "-f", "-")
	for _, want := range []string{"Partial success: applied the first 2 out of 3 'IPPool' resources", "document 3", "overlaps"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if got := e.ok("", "get", "ippools", "-o", "name"); got != "pool-a\npool-b\n" {
		t.Errorf("pools after a partial apply: %q", got)
	}
}
