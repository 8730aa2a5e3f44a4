package api

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

// calicoField is one line of testdata/calico-v3-fields.txt, generated from Calico's source by
// api/internal/calicofields.
type calicoField struct{ kind, path, shape, validate string }

func loadCalicoFields(t testing.TB) []calicoField {
	t.Helper()
	f, err := os.Open("testdata/calico-v3-fields.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []calicoField
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		p := strings.Split(sc.Text(), "\t")
		out = append(out, calicoField{p[0], p[1], p[2], p[3]})
	}
	return out
}

// typeAt follows a Calico field path ("spec.a[].b{}") through brindle's Go types.
func typeAt(t reflect.Type, path string) (reflect.Type, string) {
	for _, seg := range strings.Split(path, ".") {
		name := strings.TrimRight(seg, "[]{}")
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, "parent of " + seg + " is " + t.String()
		}
		ft, ok := fieldsOf(t)[name]
		if !ok {
			return nil, "no field " + name
		}
		t = ft
		for _, c := range seg[len(name):] {
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if c == '[' || c == '{' {
				if t.Kind() != reflect.Slice && t.Kind() != reflect.Map {
					return nil, seg + " is " + t.String() + ", not a list or map"
				}
				t = t.Elem()
			}
		}
	}
	return t, ""
}

func TestEveryCalicoFieldHasAType(t *testing.T) {
	for _, f := range loadCalicoFields(t) {
		k, ok := LookupKind(f.kind)
		if !ok {
			t.Errorf("%s: kind not registered", f.kind)
			continue
		}
		if _, why := typeAt(reflect.TypeOf(k.New()).Elem(), f.path); why != "" {
			t.Errorf("%s %s (%s): %s", f.kind, f.path, f.shape, why)
		}
	}
}
