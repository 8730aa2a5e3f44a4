package store

import (
	"bytes"
	"fmt"

	"github.com/brindle-net/brindle/api"
)

// checkStored rejects a stored value that decodes as JSON but is not a resource of the key's
// kind: null, another kind's object (json.Unmarshal ignores the fields it does not know, so
// a Tier written under globalnetworkpolicies/ would become a policy with an empty spec, that
// is a deny-all for every endpoint), or a foreign apiVersion. Calico reads with a
// plain json.Unmarshal and no such check (libcalico-go/lib/backend/model/keys.go ParseValue),
// but it always writes kind and apiVersion, so an absent kind or apiVersion is
// accepted and only a different one refused. r is the value as unmarshalled, before decode
// fills in TypeMeta.
func checkStored(k *api.KindInfo, value []byte, r api.Resource) error {
	v := bytes.TrimSpace(value)
	if len(v) == 0 || v[0] != '{' {
		return fmt.Errorf("stored %s is not a JSON object", k.Kind)
	}
	tm := r.GetTypeMeta()
	if tm.Kind != "" && tm.Kind != k.Kind {
		return fmt.Errorf("a %s is stored under the %s prefix (kind %q)", tm.Kind, k.Plural, tm.Kind)
	}
	if tm.APIVersion != "" && tm.APIVersion != api.Group {
		return fmt.Errorf("stored %s has apiVersion %q, want %q", k.Kind, tm.APIVersion, api.Group)
	}
	return nil
}
