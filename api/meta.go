// Package api holds brindle's resource model: Go types whose JSON is exactly what Calico's
// etcdv3 datastore stores (apiVersion projectcalico.org/v3), with defaults and validation.
package api

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// Group is the API group and version every resource carries.
const Group = "projectcalico.org/v3"

// TypeMeta is the kind and apiVersion header of every resource.
type TypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// GetTypeMeta lets every kind satisfy Resource through embedding.
func (t *TypeMeta) GetTypeMeta() *TypeMeta { return t }

// ObjectMeta is the subset of Kubernetes object metadata that Calico stores.
// resourceVersion is never stored: the store fills it from the etcd ModRevision.
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	GenerateName      string            `json:"generateName,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	CreationTimestamp string            `json:"creationTimestamp,omitempty"`
	DeletionTimestamp string            `json:"deletionTimestamp,omitempty"`
	Labels            Labels            `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty"`
}

// GetObjectMeta lets every kind satisfy Resource through embedding.
func (m *ObjectMeta) GetObjectMeta() *ObjectMeta { return m }

// Resource is any projectcalico.org/v3 object.
type Resource interface {
	GetTypeMeta() *TypeMeta
	GetObjectMeta() *ObjectMeta
}

// Labels is a label map that also accepts unquoted YAML scalars as values.
// The seed's 01-calico-reflector-master.yaml writes `route-reflector: true`; YAML turns that
// into a boolean, and it must still apply as the string "true".
type Labels map[string]string

// UnmarshalJSON accepts strings, booleans and numbers as label values.
func (l *Labels) UnmarshalJSON(b []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*l = nil
		return nil
	}
	out := make(Labels, len(raw))
	for k, v := range raw {
		switch x := v.(type) {
		case string:
			out[k] = x
		case bool:
			out[k] = strconv.FormatBool(x)
		case float64:
			out[k] = strconv.FormatFloat(x, 'f', -1, 64)
		case nil:
			out[k] = ""
		default:
			return fmt.Errorf("label %q: value must be a string, got %T", k, v)
		}
	}
	*l = out
	return nil
}

// SortedKeys returns the label keys in order, for stable output.
func (l Labels) SortedKeys() []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
