package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// DecodeError says which document of a file is bad and why. Index counts documents from 1
// in file order; Item counts from 1 inside a List document (0 when not in a list).
type DecodeError struct {
	Index    int
	Item     int
	Line     int // first line of the YAML document, 0 for JSON
	Kind     string
	Name     string
	Problems []string
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", e.Index)
	if e.Item > 0 {
		fmt.Fprintf(&b, " item %d", e.Item)
	}
	switch {
	case e.Kind != "" && e.Name != "":
		fmt.Fprintf(&b, " (%s %q)", e.Kind, e.Name)
	case e.Kind != "":
		fmt.Fprintf(&b, " (%s)", e.Kind)
	case e.Line > 0:
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String() + ": " + strings.Join(e.Problems, "; ")
}

// rawDoc is one document as JSON, with where it came from.
type rawDoc struct {
	json  []byte
	index int
	line  int
}

// DecodeDocuments parses YAML (documents separated by ---) or JSON (one object, several
// concatenated, an array, or a List with items) into typed resources. Decoding is strict:
// unknown fields, wrong types, a missing or foreign apiVersion or kind are errors naming the
// document and the field path. It neither defaults nor validates: the store does both on write.
func DecodeDocuments(data []byte) ([]Resource, error) {
	if len(data) > MaxManifestBytes {
		return nil, ManifestTooLarge("the input")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, nil
	}
	var docs []rawDoc
	var err error
	if trimmed[0] == '{' || trimmed[0] == '[' {
		docs, err = splitJSON(trimmed)
	} else {
		docs, err = splitYAML(data)
	}
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, d := range docs {
		rs, err := decodeDoc(d)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

func splitJSON(data []byte) ([]rawDoc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []rawDoc
	for i := 1; ; i++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, &DecodeError{Index: i, Problems: []string{"invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}}
		}
		docs = append(docs, rawDoc{json: raw, index: i})
	}
}

var yamlLine = lazyRE(`line (\d+)`)

// splitYAML cuts the stream at "---" lines and converts each document to JSON. Documents
// holding nothing (only comments or whitespace) are skipped and not counted.
func splitYAML(data []byte) ([]rawDoc, error) {
	var docs []rawDoc
	var cur bytes.Buffer
	start, lineNo := 1, 0
	flush := func() error {
		text := cur.Bytes()
		defer cur.Reset()
		j, err := yaml.YAMLToJSON(text)
		if err != nil {
			// Report lines of the file, not of the document.
			msg := yamlLine.ReplaceAllStringFunc(err.Error(), func(m string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
				return "line " + strconv.Itoa(n+start-1)
			})
			return &DecodeError{Index: len(docs) + 1, Line: start, Problems: []string{"invalid YAML: " + msg}}
		}
		if t := bytes.TrimSpace(j); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
			docs = append(docs, rawDoc{json: j, index: len(docs) + 1, line: start})
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		t := strings.TrimRight(line, " \t\r")
		if t == "---" || strings.HasPrefix(t, "--- ") || t == "..." {
			if err := flush(); err != nil {
				return nil, err
			}
			start = lineNo + 1
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return docs, nil
}

// header is what decoding needs before it knows the kind. It is read leniently (a
// non-string name is left empty) so that type problems are reported by checkFields with
// their path rather than as an unreadable document.
type header struct {
	APIVersion, Kind, Name string
	Items                  []json.RawMessage
	HasItems               bool
}

func readHeader(obj []byte) (header, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil || m == nil {
		return header{}, false
	}
	str := func(raw json.RawMessage) string {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	h := header{APIVersion: str(m["apiVersion"]), Kind: str(m["kind"])}
	var meta map[string]json.RawMessage
	if json.Unmarshal(m["metadata"], &meta) == nil {
		h.Name = str(meta["name"])
	}
	if raw, ok := m["items"]; ok {
		h.HasItems = true
		_ = json.Unmarshal(raw, &h.Items)
	}
	return h, true
}

func decodeDoc(d rawDoc) ([]Resource, error) {
	b := bytes.TrimSpace(d.json)
	if len(b) > 0 && b[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return nil, &DecodeError{Index: d.index, Line: d.line, Problems: []string{err.Error()}}
		}
		return decodeItems(d, items, "", "")
	}
	h, ok := readHeader(b)
	if !ok {
		return nil, &DecodeError{Index: d.index, Line: d.line, Problems: []string{"must be an object with apiVersion, kind, metadata and spec"}}
	}
	if h.Kind == "List" || strings.HasSuffix(h.Kind, "List") && h.HasItems {
		if h.Kind != "List" {
			if err := checkAPIVersion(h.APIVersion); err != "" {
				return nil, &DecodeError{Index: d.index, Line: d.line, Kind: h.Kind, Problems: []string{err}}
			}
		}
		return decodeItems(d, h.Items, strings.TrimSuffix(h.Kind, "List"), h.APIVersion)
	}
	r, err := decodeOne(d, 0, b)
	if err != nil {
		return nil, err
	}
	return []Resource{r}, nil
}

// decodeItems decodes a List's items; items of an "XList" may leave out kind and apiVersion.
func decodeItems(d rawDoc, items []json.RawMessage, kind, apiVersion string) ([]Resource, error) {
	out := make([]Resource, 0, len(items))
	for i, it := range items {
		obj := it
		if kind != "" {
			var m map[string]json.RawMessage
			if json.Unmarshal(it, &m) == nil && m != nil {
				if _, ok := m["kind"]; !ok {
					m["kind"], _ = json.Marshal(kind)
				}
				if _, ok := m["apiVersion"]; !ok && apiVersion != "" {
					m["apiVersion"], _ = json.Marshal(apiVersion)
				}
				obj, _ = json.Marshal(m)
			}
		}
		r, err := decodeOne(d, i+1, obj)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func checkAPIVersion(v string) string {
	switch v {
	case Group:
		return ""
	case "":
		return "apiVersion is missing (want " + Group + ")"
	case "crd.projectcalico.org/v1":
		return "apiVersion crd.projectcalico.org/v1 is Calico's Kubernetes CRD form, which brindle does not read; write apiVersion " + Group + " (calicoctl's form) instead"
	default:
		return fmt.Sprintf("apiVersion %q is not supported (want %s)", v, Group)
	}
}

// decodeOne strictly decodes one object.
func decodeOne(d rawDoc, item int, obj []byte) (Resource, error) {
	fail := func(kind, name string, problems ...string) error {
		return &DecodeError{Index: d.index, Item: item, Line: d.line, Kind: kind, Name: name, Problems: problems}
	}
	h, ok := readHeader(obj)
	if !ok {
		return nil, fail("", "", "must be an object with apiVersion, kind, metadata and spec")
	}
	if h.Kind == "" {
		return nil, fail("", h.Name, "kind is missing")
	}
	k, found := LookupKind(h.Kind)
	if !found || k.Kind != h.Kind {
		msg := fmt.Sprintf("unknown kind %q", h.Kind)
		if found && strings.EqualFold(h.Kind, k.Kind) {
			msg += fmt.Sprintf(" (kinds are case-sensitive: did you mean %q?)", k.Kind)
		} else if found {
			msg += fmt.Sprintf(" (a document's kind is written in full: did you mean %q?)", k.Kind)
		} else if near := NearestKind(h.Kind); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		return nil, fail(h.Kind, h.Name, msg)
	}
	if err := checkAPIVersion(h.APIVersion); err != "" {
		return nil, fail(k.Kind, h.Name, err)
	}
	r := k.NewResource()
	if problems := checkFields(obj, r); len(problems) > 0 {
		return nil, fail(k.Kind, h.Name, problems...)
	}
	if err := json.Unmarshal(obj, r); err != nil {
		return nil, fail(k.Kind, h.Name, err.Error())
	}
	tm := r.GetTypeMeta()
	tm.Kind, tm.APIVersion = k.Kind, Group
	return r, nil
}
