package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// checkFields walks a JSON object against the Go type of v and reports every unknown field
// and every value of the wrong type with its JSON path ("spec.blockSize"). encoding/json's
// DisallowUnknownFields names neither the path nor more than the first problem, and it
// matches field names case-insensitively, which Calico (Kubernetes decoding) does not.
func checkFields(obj []byte, v any) []string {
	var problems []string
	walk(reflect.TypeOf(v), obj, "", &problems)
	return problems
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func walk(t reflect.Type, raw json.RawMessage, path string, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if t == reflect.TypeFor[json.RawMessage]() {
			return // kept verbatim
		}
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: %s", orRoot(path), strings.TrimPrefix(err.Error(), "json: ")))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			*problems = append(*problems, fmt.Sprintf("%s: must be an object, got %s", orRoot(path), snippet(raw)))
			return
		}
		fields := fieldsOf(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				msg := fmt.Sprintf("unknown field %q", join(path, k))
				if real := foldMatch(fields, k); real != "" {
					msg += fmt.Sprintf(" (field names are case-sensitive: did you mean %q?)", real)
				} else if near := nearest(k, sortedFieldNames(fields)); near != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				}
				*problems = append(*problems, msg)
				continue
			}
			walk(ft, m[k], join(path, k), problems)
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			*problems = append(*problems, fmt.Sprintf("%s: must be an object, got %s", orRoot(path), snippet(raw)))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walk(t.Elem(), m[k], path+"["+k+"]", problems)
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			*problems = append(*problems, fmt.Sprintf("%s: must be a list, got %s", orRoot(path), snippet(raw)))
			return
		}
		for i, it := range items {
			walk(t.Elem(), it, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case reflect.Interface:
	default:
		if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
			*problems = append(*problems, fmt.Sprintf("%s: must be %s, got %s", orRoot(path), describe(t), snippet(raw)))
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func orRoot(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

func snippet(raw []byte) string {
	s := string(raw)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Uint8:
		return "an integer 0-255"
	case reflect.Uint16:
		return "an integer 0-65535"
	case reflect.Uint32:
		return "an integer 0-4294967295"
	case reflect.Int32:
		return "a 32-bit integer"
	case reflect.Int, reflect.Int64, reflect.Int8, reflect.Int16, reflect.Uint, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// fieldsOf maps a struct's JSON field names to their types, flattening embedded structs the
// way encoding/json does (TypeMeta is inline; ObjectMeta is under "metadata").
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range fieldsOf(f.Type) {
				out[k] = v
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	fieldCache.Store(t, out)
	return out
}

func foldMatch(fields map[string]reflect.Type, k string) string {
	for name := range fields {
		if strings.EqualFold(name, k) {
			return name
		}
	}
	return ""
}

func sortedFieldNames(fields map[string]reflect.Type) []string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
