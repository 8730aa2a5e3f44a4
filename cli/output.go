package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/brindle-net/brindle/api"
	"sigs.k8s.io/yaml"
)

// printOptions says how `get` renders what it read.
type printOptions struct {
	Format        string // "" (table), "wide", "yaml", "json", "name"
	Single        bool   // one object asked for by name: print it bare, not as a List
	AllNamespaces bool   // namespaced kinds get a NAMESPACE column / prefix
	ListRevision  int64  // the etcd revision of the read, as the List's resourceVersion
	DefaultASN    string // AS number nodes inherit, shown in parentheses as calicoctl does
}

// resourceList is calicoctl's list shape: apiVersion, kind <Kind>List, items, metadata.
type resourceList struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Items      []api.Resource `json:"items"`
	Metadata   listMeta       `json:"metadata"`
}

type listMeta struct {
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

func printResources(w io.Writer, k *api.KindInfo, items []api.Resource, o printOptions) error {
	var doc any = resourceList{APIVersion: api.Group, Kind: k.Kind + "List", Items: items,
		Metadata: listMeta{ResourceVersion: revString(o.ListRevision)}}
	if o.Single && len(items) == 1 {
		doc = items[0]
	}
	switch o.Format {
	case "yaml":
		// sigs.k8s.io/yaml goes through the JSON tags, so YAML and JSON show the same fields.
		b, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case "json":
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "name":
		for _, r := range items {
			m := r.GetObjectMeta()
			if k.Namespaced && o.AllNamespaces {
				fmt.Fprintf(w, "%s/%s\n", m.Namespace, m.Name)
			} else {
				fmt.Fprintln(w, m.Name)
			}
		}
		return nil
	case "", "ps", "wide":
		return printTable(w, k, items, o)
	}
	return fmt.Errorf("--output: unknown format %q (want yaml, json, wide or name)", o.Format)
}

func revString(rev int64) string {
	if rev == 0 {
		return ""
	}
	return strconv.FormatInt(rev, 10)
}

func printTable(w io.Writer, k *api.KindInfo, items []api.Resource, o printOptions) error {
	cols := tableColumns(k.Kind, o.Format == "wide", o.DefaultASN)
	if k.Namespaced && o.AllNamespaces {
		cols = append([]column{{"NAMESPACE", func(m obj) string { return m.str("metadata", "namespace") }}}, cols...)
	}
	// calicoctl's tabwriter settings: columns padded to the widest cell plus three spaces.
	tw := tabwriter.NewWriter(w, 5, 1, 3, ' ', 0)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.header
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, r := range items {
		m, err := toObj(r)
		if err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.value(m)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

// obj is a resource as generic JSON, so that tables read fields by their Calico names and do
// not depend on how each Go type is declared.
type obj map[string]any

func toObj(r api.Resource) (obj, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var m obj
	return m, json.Unmarshal(b, &m)
}

func (m obj) get(path ...string) any {
	var cur any = map[string]any(m)
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// str renders a field as calicoctl's templates do: bools as true/false, lists comma-joined,
// absent fields as "" (and absent bools as false, because Go templates print the zero value).
func (m obj) str(path ...string) string { return render(m.get(path...)) }

func (m obj) boolStr(path ...string) string {
	if v, ok := m.get(path...).(bool); ok && v {
		return "true"
	}
	return "false"
}

func render(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = render(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}
