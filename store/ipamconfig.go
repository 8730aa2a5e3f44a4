package store

import (
	"encoding/json"
	"fmt"

	"github.com/brindle-net/brindle/api"
)

// IPAMConfiguration is not stored as a v3 resource in etcd mode: Calico keeps it in the
// IPAM key space at IPAMConfigKey with its own JSON. The store translates both ways so that
// `get/apply ipamconfig` and the IPAM code see the same record.

// IPAMConfigName is the only name an IPAMConfiguration may have.
const IPAMConfigName = "default"

const ipamConfigKindName = "IPAMConfiguration"

// IPAMConfigValue is the JSON at IPAMConfigKey, exactly as Calico writes it
// (e.g. {"auto_allocate_blocks":true}).
type IPAMConfigValue struct {
	StrictAffinity     bool `json:"strict_affinity,omitempty"`
	AutoAllocateBlocks bool `json:"auto_allocate_blocks,omitempty"`
	MaxBlocksPerHost   int  `json:"maxBlocksPerHost,omitempty"`
}

// ipamConfigSpec is the v3 resource's spec, named by JSON only so that the store does not
// depend on the api type's Go field names.
type ipamConfigSpec struct {
	StrictAffinity     bool `json:"strictAffinity"`
	AutoAllocateBlocks bool `json:"autoAllocateBlocks"`
	MaxBlocksPerHost   int  `json:"maxBlocksPerHost,omitempty"`
}

func isIPAMConfig(k *api.KindInfo) bool { return k.Kind == ipamConfigKindName }

func ipamConfigKind() (*api.KindInfo, bool) { return api.LookupKind(ipamConfigKindName) }

// ParseIPAMConfig reads the value stored at IPAMConfigKey.
func ParseIPAMConfig(value []byte) (IPAMConfigValue, error) {
	var v IPAMConfigValue
	if len(value) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return v, fmt.Errorf("%s: %w", IPAMConfigKey, err)
	}
	return v, nil
}

func encodeIPAMConfig(r api.Resource) ([]byte, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var obj struct {
		Spec ipamConfigSpec `json:"spec"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	return json.Marshal(IPAMConfigValue{
		StrictAffinity:     obj.Spec.StrictAffinity,
		AutoAllocateBlocks: obj.Spec.AutoAllocateBlocks,
		MaxBlocksPerHost:   obj.Spec.MaxBlocksPerHost,
	})
}

func decodeIPAMConfig(k *api.KindInfo, value []byte, modRev int64) (api.Resource, error) {
	v, err := ParseIPAMConfig(value)
	if err != nil {
		return nil, err
	}
	type meta struct {
		Name            string `json:"name"`
		ResourceVersion string `json:"resourceVersion"`
	}
	doc, err := json.Marshal(struct {
		Kind       string         `json:"kind"`
		APIVersion string         `json:"apiVersion"`
		Metadata   meta           `json:"metadata"`
		Spec       ipamConfigSpec `json:"spec"`
	}{k.Kind, api.Group, meta{IPAMConfigName, fmt.Sprint(modRev)},
		ipamConfigSpec{StrictAffinity: v.StrictAffinity, AutoAllocateBlocks: v.AutoAllocateBlocks, MaxBlocksPerHost: v.MaxBlocksPerHost}})
	if err != nil {
		return nil, err
	}
	r := k.NewResource()
	if err := json.Unmarshal(doc, r); err != nil {
		return nil, fmt.Errorf("decoding %s as %s: %w", IPAMConfigKey, k.Kind, err)
	}
	return r, nil
}
