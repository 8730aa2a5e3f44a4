package store

import (
	"encoding/json"

	"github.com/brindle-net/brindle/api"
)

// DefaultAllowProfile is synthesised on read and never stored, as Calico does.
const DefaultAllowProfile = "projectcalico-default-allow"

func defaultAllowProfile() api.Resource {
	k, ok := api.LookupKind("Profile")
	if !ok {
		return nil
	}
	r := k.NewResource()
	// Built from JSON so this file does not depend on the Profile type's Go field names.
	_ = json.Unmarshal([]byte(`{"metadata":{"name":"projectcalico-default-allow","resourceVersion":"1"},"spec":{"ingress":[{"action":"Allow"}],"egress":[{"action":"Allow"}]}}`), r)
	tm := r.GetTypeMeta()
	tm.Kind, tm.APIVersion = k.Kind, api.Group
	return r
}

func storagePolicyName(k *api.KindInfo, r api.Resource) string { return r.GetObjectMeta().Name }
func storageNameFor(k *api.KindInfo, name string) string       { return name }
func restorePolicyName(k *api.KindInfo, r api.Resource)        {}
