package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// dumpValue is one stored resource from Calico's own etcd dump.
type dumpValue struct {
	key, value string
}

// readDump returns the distinct resource keys of testdata/calico-etcd-dump.txt (a copy of
// /work/shared/reference/calico-etcd-dump.txt, written by calicoctl v3.30.7).
func readDump(t *testing.T) []dumpValue {
	t.Helper()
	f, err := os.Open("testdata/calico-etcd-dump.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	seen := map[string]bool{}
	var out []dumpValue
	var key string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "/calico/resources/v3/projectcalico.org/"):
			key = line
		case key != "" && strings.HasPrefix(line, "{"):
			if !seen[key] {
				seen[key] = true
				out = append(out, dumpValue{key, line})
			}
			key = ""
		default:
			key = ""
		}
	}
	if len(out) < 10 {
		t.Fatalf("dump parse found only %d resources", len(out))
	}
	return out
}

func kindForKey(t *testing.T, key string) *KindInfo {
	t.Helper()
	plural := strings.Split(strings.TrimPrefix(key, "/calico/resources/v3/projectcalico.org/"), "/")[0]
	for _, k := range Kinds() {
		if k.Plural == plural {
			return k
		}
	}
	t.Fatalf("%s: no kind with plural %q", key, plural)
	return nil
}

// TestDumpRoundTrip decodes every value Calico stored and re-encodes it: the bytes must be
// identical, before and after Default(), and every value must validate.
func TestDumpRoundTrip(t *testing.T) {
	kindsSeen := map[string]bool{}
	for _, d := range readDump(t) {
		k := kindForKey(t, d.key)
		kindsSeen[k.Kind] = true
		t.Run(d.key, func(t *testing.T) {
			rs, err := DecodeDocuments([]byte(d.value))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(rs) != 1 {
				t.Fatalf("decoded %d resources, want 1", len(rs))
			}
			r := rs[0]
			if r.GetTypeMeta().Kind != k.Kind {
				t.Fatalf("kind %s, want %s", r.GetTypeMeta().Kind, k.Kind)
			}
			assertJSON(t, "re-encoded", r, d.value)
			if def, ok := r.(Defaulter); ok {
				def.Default()
			}
			assertJSON(t, "after Default()", r, d.value)
			if v, ok := r.(Validator); ok {
				if err := v.Validate(); err != nil {
					t.Fatalf("Calico's own value does not validate: %v", err)
				}
			}
		})
	}
	for _, want := range []string{"IPPool", "Node", "BGPPeer", "BGPConfiguration", "ClusterInformation", "GlobalNetworkPolicy", "Tier", "Profile", "WorkloadEndpoint"} {
		if !kindsSeen[want] {
			t.Errorf("dump had no %s: the golden test lost coverage", want)
		}
	}
}

func assertJSON(t *testing.T, what string, r Resource, want string) {
	t.Helper()
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("%s JSON differs from Calico's\n got: %s\nwant: %s", what, got, want)
	}
}
