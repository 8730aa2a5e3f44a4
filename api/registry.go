package api

import "strings"

// KindInfo describes one resource kind: how it is named on the command line and in etcd.
type KindInfo struct {
	Kind       string   // e.g. "IPPool"
	Plural     string   // lower-case plural used in the etcd key, e.g. "ippools"
	Namespaced bool     // only WorkloadEndpoint, NetworkPolicy and NetworkSet are
	Aliases    []string // extra names calicoctl accepts, e.g. "ipp"
	New        func() Resource
}

// Defaulter fills in Calico's defaults for unset fields.
type Defaulter interface{ Default() }

// Validator checks one resource on its own (cross-resource checks live in the store).
type Validator interface{ Validate() error }

// LookupKind finds a kind by its name, plural or alias, case-insensitively.
func LookupKind(name string) (*KindInfo, bool) {
	n := strings.ToLower(name)
	for _, k := range kinds {
		if n == strings.ToLower(k.Kind) || n == k.Plural {
			return k, true
		}
		for _, a := range k.Aliases {
			if n == a {
				return k, true
			}
		}
	}
	return nil, false
}

// Kinds lists every registered kind.
func Kinds() []*KindInfo { return kinds }

// New returns an empty resource of the kind with kind and apiVersion set.
func (k *KindInfo) NewResource() Resource {
	r := k.New()
	tm := r.GetTypeMeta()
	tm.Kind, tm.APIVersion = k.Kind, Group
	return r
}

// NearestKind suggests the registered kind whose name, plural or alias is closest to a
// misspelt one ("" when none is close).
func NearestKind(name string) string {
	var names []string
	owner := map[string]string{}
	for _, k := range kinds {
		for _, n := range append([]string{k.Kind, k.Plural}, k.Aliases...) {
			names = append(names, n)
			owner[n] = k.Kind
		}
	}
	if n := nearest(name, names); n != "" {
		return owner[n]
	}
	return ""
}
