package api

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeValidate feeds arbitrary manifests through what `brindle apply` does before it
// writes: decode, default, validate. Nothing may panic; a rejection names a document and
// says why; a resource that validates is one brindle would store, so its stored JSON must
// decode and validate again (what a reader of etcd does). Seeds: the repository's fixture
// manifests and one small document per kind.
func FuzzDecodeValidate(f *testing.F) {
	for _, dir := range []string{"seed", "policy"} {
		files, _ := filepath.Glob(filepath.Join("..", "test", "fixtures", dir, "*"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	for _, k := range Kinds() {
		f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: " + k.Kind + "\nmetadata:\n  name: x\nspec: {}\n"))
	}
	f.Add([]byte(`{"kind":"List","apiVersion":"v1","items":[{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.0.0.0/16","blockSize":26}}]}`))
	f.Add([]byte("a: &a [x]\nb: [*a, *a]\n---\n..."))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := DecodeDocuments(data)
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) && (de.Index < 1 || len(de.Problems) == 0) {
				t.Fatalf("decode error without a document or a problem: %+v", de)
			}
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, r := range rs {
			if validates(r) != nil {
				continue
			}
			stored, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("a valid %T does not encode: %v", r, err)
			}
			k, _ := LookupKind(r.GetTypeMeta().Kind)
			again := k.NewResource()
			if err := json.Unmarshal(stored, again); err != nil {
				t.Fatalf("stored JSON of a valid %s does not decode: %v\n%s", k.Kind, err, stored)
			}
			if err := validates(again); err != nil {
				t.Fatalf("a valid %s no longer validates once stored: %v\n%s", k.Kind, err, stored)
			}
		}
	})
}

// validates defaults and validates r as the store does before a write.
func validates(r Resource) error {
	if d, ok := r.(Defaulter); ok {
		d.Default()
	}
	if v, ok := r.(Validator); ok {
		return v.Validate()
	}
	return nil
}
