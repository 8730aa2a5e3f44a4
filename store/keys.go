package store

import (
	"strings"

	"github.com/brindle-net/brindle/api"
)

// Key prefixes, exactly as Calico's etcdv3 backend lays them out.
const (
	ResourcePrefix = "/calico/resources/v3/projectcalico.org/"
	IPAMPrefix     = "/calico/ipam/v2/"
	FelixPrefix    = "/calico/felix/v2/"
)

// ResourceKey is where one resource lives. Namespaced kinds include the namespace.
// IPAMConfiguration is the exception: it lives at IPAMConfigKey.
func ResourceKey(k *api.KindInfo, namespace, name string) string {
	if isIPAMConfig(k) {
		return IPAMConfigKey
	}
	if k.Namespaced {
		return ResourcePrefix + k.Plural + "/" + namespace + "/" + name
	}
	return ResourcePrefix + k.Plural + "/" + name
}

// ListPrefix is the prefix to list a kind, optionally within one namespace.
func ListPrefix(k *api.KindInfo, namespace string) string {
	if isIPAMConfig(k) {
		return IPAMConfigKey
	}
	p := ResourcePrefix + k.Plural + "/"
	if k.Namespaced && namespace != "" {
		p += namespace + "/"
	}
	return p
}

// ParseResourceKey splits a resource key into kind, namespace and name.
func ParseResourceKey(key string) (k *api.KindInfo, namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(key, ResourcePrefix)
	if !found {
		return nil, "", "", false
	}
	parts := strings.Split(rest, "/")
	for _, ki := range api.Kinds() {
		if ki.Plural != parts[0] {
			continue
		}
		if ki.Namespaced && len(parts) == 3 {
			return ki, parts[1], parts[2], true
		}
		if !ki.Namespaced && len(parts) == 2 {
			return ki, "", parts[1], true
		}
	}
	return nil, "", "", false
}

// IPAM keys (calico-model.md §1.3). CIDRs appear with "/" replaced by "-".

// BlockKey is the key of an allocation block, e.g. /calico/ipam/v2/assignment/ipv4/block/10.244.0.0-26.
func BlockKey(cidr string) string {
	return IPAMPrefix + "assignment/" + ipFamily(cidr) + "/block/" + strings.ReplaceAll(cidr, "/", "-")
}

// BlockPrefix lists all blocks of one family ("ipv4" or "ipv6").
func BlockPrefix(family string) string { return IPAMPrefix + "assignment/" + family + "/block/" }

// AffinityKey is a host's claim on a block. The host name is not escaped, as in Calico.
func AffinityKey(host, cidr string) string {
	return IPAMPrefix + "host/" + host + "/" + ipFamily(cidr) + "/block/" + strings.ReplaceAll(cidr, "/", "-")
}

// AffinityPrefix lists one host's affinities of one family; family "" lists both.
func AffinityPrefix(host, family string) string {
	if family == "" {
		return IPAMPrefix + "host/" + host + "/"
	}
	return IPAMPrefix + "host/" + host + "/" + family + "/block/"
}

// HandleKey is the key of an IPAM handle.
func HandleKey(handleID string) string { return IPAMPrefix + "handle/" + handleID }

// IPAMConfigKey holds strict_affinity, auto_allocate_blocks and maxBlocksPerHost.
const IPAMConfigKey = IPAMPrefix + "config"

// CIDRFromKeySuffix turns "10.244.0.0-26" back into "10.244.0.0/26".
func CIDRFromKeySuffix(s string) string {
	i := strings.LastIndex(s, "-")
	if i < 0 {
		return s
	}
	return s[:i] + "/" + s[i+1:]
}

func ipFamily(cidr string) string {
	if strings.Contains(cidr, ":") {
		return "ipv6"
	}
	return "ipv4"
}
