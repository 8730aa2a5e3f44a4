package store

import (
	"encoding/json"
	"strings"

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

// Tiered policy names (calico-model.md §1.2). Calico v3.30 stores a policy of tier T under
// "T.<name>" and records the name the user gave in an annotation, which reads strip again;
// names that already carry the tier prefix, and kube-controllers' knp./ossg. names, are
// stored as they are. The dump in shared/reference shows "default.allow-icmp-and-dns" with
// annotation {"name":"allow-icmp-and-dns"}.
const (
	PolicyMetadataAnnotation = "projectcalico.org/metadata"
	DefaultTier              = "default"
)

func isTieredPolicy(k *api.KindInfo) bool {
	return k.Kind == "NetworkPolicy" || k.Kind == "GlobalNetworkPolicy"
}

// StoredPolicyName is the name a policy of tier is stored under ("" tier = default).
func StoredPolicyName(name, tier string) string {
	if strings.HasPrefix(name, "knp.") || strings.HasPrefix(name, "ossg.") {
		return name
	}
	if tier == "" {
		tier = DefaultTier
	}
	if strings.HasPrefix(name, tier+".") {
		return name
	}
	return tier + "." + name
}

// policyTier reads spec.tier through JSON so the store needs no policy Go types.
func policyTier(r api.Resource) string {
	raw, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	var obj struct {
		Spec struct {
			Tier string `json:"tier"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.Spec.Tier
}

// setStorageName rewrites metadata for storage. The caller restores the metadata after
// encoding, so Annotations is replaced by a copy rather than modified.
func setStorageName(k *api.KindInfo, r api.Resource) {
	if !isTieredPolicy(k) {
		return
	}
	m := r.GetObjectMeta()
	stored := StoredPolicyName(m.Name, policyTier(r))
	if stored == m.Name {
		return
	}
	ann := make(map[string]string, len(m.Annotations)+1)
	for a, v := range m.Annotations {
		ann[a] = v
	}
	orig, _ := json.Marshal(struct {
		Name string `json:"name"`
	}{m.Name})
	ann[PolicyMetadataAnnotation] = string(orig)
	m.Annotations, m.Name = ann, stored
}

// restorePolicyName undoes setStorageName on a freshly decoded resource.
func restorePolicyName(k *api.KindInfo, r api.Resource) {
	if !isTieredPolicy(k) {
		return
	}
	m := r.GetObjectMeta()
	raw, ok := m.Annotations[PolicyMetadataAnnotation]
	if !ok {
		return
	}
	var orig struct {
		Name string `json:"name"`
	}
	if json.Unmarshal([]byte(raw), &orig) != nil || orig.Name == "" {
		return
	}
	m.Name = orig.Name
	delete(m.Annotations, PolicyMetadataAnnotation)
	if len(m.Annotations) == 0 {
		m.Annotations = nil
	}
}

// storageNamesFor lists the stored names a policy called name may have, most likely first.
// "a.b" may be a default-tier policy (stored "default.a.b") or policy b of tier a.
func storageNamesFor(k *api.KindInfo, name string) []string {
	if !isTieredPolicy(k) {
		return []string{name}
	}
	def := StoredPolicyName(name, DefaultTier)
	if def == name || !strings.Contains(name, ".") {
		return []string{def}
	}
	return []string{def, name}
}
