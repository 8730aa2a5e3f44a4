package hostile

import (
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// A record is one hostile value at one key.
type record struct {
	key, variant string
	value        []byte
	// watched: the agent on node1 watches the key, so it must log it exactly once.
	watched bool
}

// hugeSize is just under etcd's default request limit (1.5 MiB), so etcdctl can write it.
const hugeSize = 1 << 20

// variants are the broken values for a resource of kind (kind's own JSON gone wrong).
func variants(kind string) map[string][]byte {
	other := "Tier"
	if kind == "Tier" {
		other = "IPPool"
	}
	doc := func(k, v, name string) string {
		return `{"kind":"` + k + `","apiVersion":"` + v + `","metadata":{"name":"` + name + `"},"spec":{}}`
	}
	good := doc(kind, api.Group, "x")
	return map[string][]byte{
		"garbage":    []byte("\x00\x01garbage{{{ not json"),
		"truncated":  []byte(good[:len(good)/2]),
		"wrongkind":  []byte(doc(other, api.Group, "x")),
		"apiversion": []byte(doc(kind, "projectcalico.org/v9", "x")),
		"null":       []byte("null"),
		"array":      []byte(`[1,2,3]`),
		"wrongtype":  []byte(`{"kind":"` + kind + `","apiVersion":"projectcalico.org/v3","metadata":{"name":7},"spec":"x"}`),
		"nonutf8":    []byte("\xff\xfe\xfd{\"kind\":\"" + kind + "\"}"),
		"huge":       []byte(`{"kind":"` + kind + `","metadata":{"name":"x"},"spec":` + strings.Repeat(`"junk" `, hugeSize/7) + `}`),
		"deep":       []byte(`{"kind":"` + kind + `","spec":` + strings.Repeat(`[`, 100000) + strings.Repeat(`]`, 100000) + `}`),
	}
}

// ipamVariants are broken IPAM values (blocks, affinities, handles: plain JSON without
// kind or apiVersion, as Calico stores them).
func ipamVariants() map[string][]byte {
	return map[string][]byte{
		"garbage":   []byte("\x00\x01garbage{{{ not json"),
		"truncated": []byte(`{"cidr":"10.251.0.0/26","affinity":"host:node1","allocations":[null,`),
		"null":      []byte("null"),
		"array":     []byte(`[1,2,3]`),
		"wrongtype": []byte(`{"cidr":12,"allocations":"x","hostname":[],"handleID":{}}`),
		"nonutf8":   []byte("\xff\xfe\xfd"),
		"huge":      []byte(`{"cidr":` + strings.Repeat(`"junk" `, hugeSize/7) + `}`),
		"deep":      []byte(`{"cidr":` + strings.Repeat(`[`, 100000) + strings.Repeat(`]`, 100000) + `}`),
	}
}

// hostileRecords is every broken record: each variant under each resource kind's prefix,
// under IPAM blocks, node1's and node2's affinities, handles, and the IPAM config key.
// watchedPrefixes are what node1's agent lists and watches (node/loop.go).
func hostileRecords() []record {
	var out []record
	for _, k := range api.Kinds() {
		if k.Kind == "IPAMConfiguration" {
			continue // it is the single key IPAMConfigKey, below
		}
		for v, val := range variants(k.Kind) {
			name := "hostile-" + v
			ns := ""
			if k.Namespaced {
				ns = "default"
			}
			key := store.ResourceKey(k, ns, name)
			out = append(out, record{key: key, variant: v, value: val, watched: agentWatches(key)})
		}
	}
	i := 0
	for v, val := range ipamVariants() {
		i++
		cidr := fmt.Sprintf("10.251.%d.0/26", i)
		for _, key := range []string{
			store.BlockKey(cidr),
			store.AffinityKey("node1", cidr),
			store.AffinityKey("node2", cidr),
			store.HandleKey("hostile-" + v),
		} {
			watched := agentWatches(key)
			if strings.Contains(key, "/host/") && (v == "null" || v == "wrongtype") {
				// Calico reads an affinity leniently (null, unknown fields and, for old
				// releases, an empty value are a confirmed affinity:
				// libcalico-go/lib/backend/model/keys.go ParseValue), and so does brindle.
				watched = false
			}
			out = append(out, record{key: key, variant: v, value: val, watched: watched})
		}
	}
	// The one IPAM config key: CNI ADD reads it on every call.
	out = append(out, record{key: store.IPAMConfigKey, variant: "garbage", value: []byte(`{"strict_affinity": "maybe",`)})
	return out
}

// agentWatches mirrors node/loop.go's watchPrefixes for node1 plus the policy kinds.
func agentWatches(key string) bool {
	for _, p := range []string{"nodes/", "ippools/", "workloadendpoints/", "bgppeers/", "bgpconfigurations/",
		"felixconfigurations/", "tiers/", "globalnetworkpolicies/", "networkpolicies/", "profiles/",
		"globalnetworksets/", "networksets/", "hostendpoints/"} {
		if strings.HasPrefix(key, store.ResourcePrefix+p) {
			return true
		}
	}
	return strings.HasPrefix(key, store.IPAMPrefix+"assignment/") || strings.HasPrefix(key, store.IPAMPrefix+"host/node1/")
}
