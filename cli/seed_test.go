package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
)

const seedDir = "../test/fixtures/seed"

// comparable strips what the datastore assigns and returns the resource as generic JSON.
func comparable(t *testing.T, r api.Resource) map[string]any {
	t.Helper()
	m := r.GetObjectMeta()
	m.UID, m.CreationTimestamp, m.ResourceVersion = "", "", ""
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeOne(t *testing.T, data []byte) api.Resource {
	t.Helper()
	rs, err := api.DecodeDocuments(data)
	if err != nil || len(rs) != 1 {
		t.Fatalf("decoding %q: %d resources, %v", data, len(rs), err)
	}
	return rs[0]
}

// TestSeedManifests applies the four manifests of the seed tutorial unchanged and reads each
// back with `get -o yaml`: the result equals the manifest after Calico's defaults.
func TestSeedManifests(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(seedDir, "*.yaml"))
	if len(files) != 4 {
		t.Fatalf("want the 4 seed manifests in %s, found %v", seedDir, files)
	}
	e := newCLIEnv(t)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := decodeOne(t, data)
		kind, name := in.GetTypeMeta().Kind, in.GetObjectMeta().Name
		if got, want := e.ok("", "apply", "-f", f), "Successfully applied 1 '"+kind+"' resource(s)\n"; got != want {
			t.Errorf("apply -f %s printed %q, want %q", f, got, want)
		}
		out := decodeOne(t, []byte(e.ok("", "get", kind, name, "-o", "yaml")))
		if d, ok := in.(api.Defaulter); ok {
			d.Default()
		}
		if a, b := comparable(t, in), comparable(t, out); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: read back\n%v\nwant (manifest plus defaults)\n%v", filepath.Base(f), b, a)
		}
	}
	// The BGP peer's selector from the tutorial is shown as written.
	if got := squash(e.ok("", "get", "bgppeers")); !strings.Contains(got, `bgppeer-demo route-reflector=="true" all()`) {
		t.Errorf("get bgppeers: %s", got)
	}
}

// TestSeedPoolYAMLShape checks `get ippools -o yaml` prints the pool the way the tutorial's
// calicoctl does: the same lines in the same order inside calicoctl's IPPoolList.
func TestSeedPoolYAMLShape(t *testing.T) {
	e := newCLIEnv(t)
	e.ok("", "apply", "-f", filepath.Join(seedDir, "default-ipv4-ippool.yaml"))
	got := e.ok("", "get", "ippools", "-o", "yaml")
	rv := regexp.MustCompile(`resourceVersion: "\d+"`)
	got = rv.ReplaceAllString(got, `resourceVersion: "RV"`)
	want := `apiVersion: projectcalico.org/v3
items:
- apiVersion: projectcalico.org/v3
  kind: IPPool
  metadata:
    creationTimestamp: "2025-05-07T05:03:11Z"
    name: default-ipv4-ippool
    resourceVersion: "RV"
    uid: 3fb4a469-fe7e-44b0-8d0a-3b8ca079633a
  spec:
    allowedUses:
    - Workload
    - Tunnel
    assignmentMode: Automatic
    blockSize: 24
    cidr: 10.244.0.0/16
    ipipMode: CrossSubnet
    natOutgoing: true
    nodeSelector: all()
    vxlanMode: Never
kind: IPPoolList
metadata:
  resourceVersion: "RV"
`
	if got != want {
		t.Errorf("get ippools -o yaml:\n%s\nwant:\n%s", got, want)
	}
	if got := squash(e.ok("", "get", "ippools")); got != "NAME CIDR SELECTOR\ndefault-ipv4-ippool 10.244.0.0/16 all()" {
		t.Errorf("get ippools:\n%s", got)
	}
}
