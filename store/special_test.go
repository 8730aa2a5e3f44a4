package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

func rawMeta(t *testing.T, c *store.Client, key string) map[string]any {
	t.Helper()
	kv, err := c.GetKV(context.Background(), key)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	var obj struct {
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(kv.Value, &obj); err != nil {
		t.Fatal(err)
	}
	return obj.Metadata
}

func TestPolicyNamesStoredWithTierPrefix(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	gnpKind, _ := api.LookupKind("GlobalNetworkPolicy")
	npKind, _ := api.LookupKind("NetworkPolicy")
	allow := []api.Rule{{Action: "Allow"}}

	g := &api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "allow-icmp-and-dns", Annotations: map[string]string{"team": "net"}},
		Spec: api.GlobalNetworkPolicySpec{Selector: "all()", Ingress: allow}}
	mustCreate(t, c, g)
	if g.Name != "allow-icmp-and-dns" || len(g.Annotations) != 1 {
		t.Errorf("create must not change the caller's metadata: %+v", g.ObjectMeta)
	}
	// The stored form, as in shared/reference/calico-etcd-dump.txt.
	m := rawMeta(t, c, store.ResourceKey(gnpKind, "", "default.allow-icmp-and-dns"))
	ann, _ := m["annotations"].(map[string]any)
	if m["name"] != "default.allow-icmp-and-dns" || ann[store.PolicyMetadataAnnotation] != `{"name":"allow-icmp-and-dns"}` || ann["team"] != "net" {
		t.Errorf("stored metadata: %v", m)
	}
	for _, name := range []string{"allow-icmp-and-dns", "default.allow-icmp-and-dns"} {
		got, err := store.GetAs[*api.GlobalNetworkPolicy](ctx, c, "", name)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		if got.Name != "allow-icmp-and-dns" || len(got.Annotations) != 1 || got.Annotations["team"] != "net" {
			t.Errorf("get %s: read-back metadata %+v", name, got.ObjectMeta)
		}
	}
	got, _ := store.GetAs[*api.GlobalNetworkPolicy](ctx, c, "", "allow-icmp-and-dns")
	got.Spec.Selector = "has(x)"
	if _, err := c.Update(ctx, got); err != nil {
		t.Fatalf("update by original name: %v", err)
	}

	// Names that already carry the prefix, and kube-controllers' knp. names, are untouched.
	for _, name := range []string{"default.explicit", "knp.default.from-k8s"} {
		mustCreate(t, c, &api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: name}, Spec: api.GlobalNetworkPolicySpec{Ingress: allow}})
		m := rawMeta(t, c, store.ResourceKey(gnpKind, "", name))
		if m["name"] != name || m["annotations"] != nil {
			t.Errorf("%s stored as %v", name, m)
		}
	}
	// A namespaced NetworkPolicy and a policy in another tier.
	mustCreate(t, c, &api.NetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "web", Namespace: "prod"}, Spec: api.NetworkPolicySpec{Ingress: allow}})
	if m := rawMeta(t, c, store.ResourceKey(npKind, "prod", "default.web")); m["name"] != "default.web" {
		t.Errorf("namespaced policy stored as %v", m)
	}
	mustCreate(t, c, &api.GlobalNetworkPolicy{ObjectMeta: api.ObjectMeta{Name: "security.block"}, Spec: api.GlobalNetworkPolicySpec{Tier: "security", Ingress: allow}})
	if _, err := c.Get(ctx, "gnp", "", "security.block"); err != nil {
		t.Errorf("tiered policy by full name: %v", err)
	}

	list, _, err := c.List(ctx, "GlobalNetworkPolicy", "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.GetObjectMeta().Name)
	}
	if strings.Join(names, ",") != "allow-icmp-and-dns,default.explicit,knp.default.from-k8s,security.block" {
		t.Errorf("listed names: %v", names)
	}
	if _, err := c.Delete(ctx, "NetworkPolicy", "prod", "web", ""); err != nil {
		t.Errorf("delete by original name: %v", err)
	}
	if _, err := c.Delete(ctx, "gnp", "", "security.block", ""); err != nil {
		t.Errorf("delete tiered policy: %v", err)
	}
	if _, err := c.Get(ctx, "gnp", "", "security.block"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func TestIPAMConfigurationMapsOntoIPAMKey(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	value := func() string {
		kv, err := c.GetKV(ctx, store.IPAMConfigKey)
		if err != nil {
			t.Fatal(err)
		}
		return string(kv.Value)
	}
	mustCreate(t, c, &api.IPAMConfiguration{ObjectMeta: api.ObjectMeta{Name: "default"}})
	if v := value(); v != `{"auto_allocate_blocks":true}` {
		t.Errorf("created value %s", v)
	}
	cfg, err := store.GetAs[*api.IPAMConfiguration](ctx, c, "", "default")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Spec.AutoAllocateBlocks == nil || !*cfg.Spec.AutoAllocateBlocks || cfg.Spec.StrictAffinity || cfg.ResourceVersion == "" {
		t.Errorf("read back %+v", cfg)
	}
	cfg.Spec.StrictAffinity, cfg.Spec.MaxBlocksPerHost = true, 4
	if _, err := c.Update(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if v := value(); v != `{"strict_affinity":true,"auto_allocate_blocks":true,"maxBlocksPerHost":4}` {
		t.Errorf("updated value %s", v)
	}
	off := false
	if _, err := c.Apply(ctx, &api.IPAMConfiguration{ObjectMeta: api.ObjectMeta{Name: "default"},
		Spec: api.IPAMConfigurationSpec{StrictAffinity: true, AutoAllocateBlocks: &off}}); err != nil {
		t.Fatal(err)
	}
	if v := value(); v != `{"strict_affinity":true}` {
		t.Errorf("applied value %s", v)
	}
	list, _, err := c.List(ctx, "ipamconfig", "")
	if err != nil || len(list) != 1 || list[0].GetObjectMeta().Name != "default" {
		t.Errorf("list: %v %v", list, err)
	}
	if _, err := c.Create(ctx, &api.IPAMConfiguration{ObjectMeta: api.ObjectMeta{Name: "other"}}); fieldPath(err) != "metadata.name" {
		t.Errorf("create with another name: %v", err)
	}
	if _, err := c.Get(ctx, "ipamconfig", "", "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get another name: %v", err)
	}
	if _, err := c.Delete(ctx, "ipamconfig", "", "default", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetKV(ctx, store.IPAMConfigKey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key after delete: %v", err)
	}
}

func TestIPPoolCrossChecks(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	mustCreate(t, c, pool("big", "10.0.0.0/16"))
	_, err := c.Create(ctx, pool("inside", "10.0.8.0/24"))
	if fieldPath(err) != "spec.cidr" || !strings.Contains(err.Error(), `"big"`) || !strings.Contains(err.Error(), "10.0.0.0/16") {
		t.Errorf("overlap: %v", err)
	}
	v6 := pool("v6", "fd00:10::/64")
	v6.Spec.BlockSize = 122
	mustCreate(t, c, v6)
	p, _ := store.GetAs[*api.IPPool](ctx, c, "", "big")
	p.Spec.CIDR = "10.1.0.0/16"
	if _, err := c.Update(ctx, p); fieldPath(err) != "spec.cidr" {
		t.Errorf("cidr change: %v", err)
	}
	p, _ = store.GetAs[*api.IPPool](ctx, c, "", "big")
	p.Spec.BlockSize = 28
	if _, err := c.Update(ctx, p); fieldPath(err) != "spec.blockSize" {
		t.Errorf("blockSize change: %v", err)
	}
	p, _ = store.GetAs[*api.IPPool](ctx, c, "", "big")
	p.Spec.NATOutgoing = true
	if _, err := c.Update(ctx, p); err != nil {
		t.Errorf("other fields stay mutable (and a pool does not overlap itself): %v", err)
	}

	// Racing creates of overlapping pools: the guard in the write lets only one through.
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = c.Create(ctx, pool("race"+string(rune('a'+2*round+i)), "172.16.0.0/24"))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if fieldPath(err) != "spec.cidr" {
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d overlapping pools created (%v)", round, ok, errs)
		}
		list, _, _ := store.ListAs[*api.IPPool](ctx, c, "")
		for _, p := range list {
			if strings.HasPrefix(p.Name, "race") {
				if _, err := c.Delete(ctx, "IPPool", "", p.Name, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestEnsureInitializedConcurrently(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.EnsureInitialized(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ci, err := store.GetAs[*api.ClusterInformation](ctx, c, "", "default")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(ci.Spec.ClusterGUID) || ci.Spec.DatastoreReady == nil || !*ci.Spec.DatastoreReady ||
		ci.Spec.ClusterType != "bgp" || ci.Spec.CalicoVersion != "brindle-dev" || ci.UID == "" || ci.CreationTimestamp == "" {
		t.Errorf("cluster information %+v", ci)
	}
	if err := c.EnsureInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	again, _ := store.GetAs[*api.ClusterInformation](ctx, c, "", "default")
	if again.Spec.ClusterGUID != ci.Spec.ClusterGUID || again.ResourceVersion != ci.ResourceVersion {
		t.Errorf("a second initialisation changed the record: %+v", again)
	}
	want := map[string]struct {
		order  float64
		action string
	}{"default": {1e6, "Deny"}, "adminnetworkpolicy": {1000, "Pass"}, "baselineadminnetworkpolicy": {1e7, "Pass"}}
	tiers, _, err := store.ListAs[*api.Tier](ctx, c, "")
	if err != nil || len(tiers) != 3 {
		t.Fatalf("tiers: %v %v", tiers, err)
	}
	for _, tr := range tiers {
		w := want[tr.Name]
		if tr.Spec.Order == nil || *tr.Spec.Order != w.order || tr.Spec.DefaultAction != w.action {
			t.Errorf("tier %s: %+v", tr.Name, tr.Spec)
		}
	}
	tierKind, _ := api.LookupKind("Tier")
	kv, _ := c.GetKV(ctx, store.ResourceKey(tierKind, "", "default"))
	if !regexp.MustCompile(`^\{"kind":"Tier","apiVersion":"projectcalico.org/v3","metadata":\{"name":"default","uid":"[0-9a-f-]{36}","creationTimestamp":"[0-9TZ:-]+"\},"spec":\{"order":1000000,"defaultAction":"Deny"\}\}$`).Match(kv.Value) {
		t.Errorf("tier JSON differs from Calico's shape: %s", kv.Value)
	}
	if kv, err := c.GetKV(ctx, store.IPAMConfigKey); err != nil || string(kv.Value) != `{"auto_allocate_blocks":true}` {
		t.Errorf("ipam config: %v %v", kv, err)
	}
}
