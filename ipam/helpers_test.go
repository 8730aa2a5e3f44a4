package ipam

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

func setup(t testing.TB) (*Allocator, *store.Client) {
	t.Helper()
	_, c := datastore.StartTest(t)
	return New(c, Options{}), c
}

func ctxT(t testing.TB) context.Context {
	// Generous: a bound on a hung test, not a speed target (the machine may be loaded).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// create stores a resource of kind from its JSON, through the store's normal validation.
func create(t testing.TB, c *store.Client, kind, doc string) api.Resource {
	t.Helper()
	k, ok := api.LookupKind(kind)
	if !ok {
		t.Fatalf("kind %s not registered", kind)
	}
	r := k.NewResource()
	if err := json.Unmarshal([]byte(doc), r); err != nil {
		t.Fatalf("decoding %s: %v", kind, err)
	}
	out, err := c.Create(context.Background(), r)
	if err != nil {
		t.Fatalf("creating %s: %v", kind, err)
	}
	return out
}

func mkPool(t testing.TB, c *store.Client, name, cidr string, blockSize int, extra string) {
	t.Helper()
	doc := `{"metadata":{"name":"` + name + `"},"spec":{"cidr":"` + cidr + `","blockSize":` + itoa(blockSize)
	if extra != "" {
		doc += "," + extra
	}
	create(t, c, "IPPool", doc+"}}")
}

func mkNode(t testing.TB, c *store.Client, name string, labels string) {
	t.Helper()
	if labels == "" {
		labels = "{}"
	}
	create(t, c, "Node", `{"metadata":{"name":"`+name+`","labels":`+labels+`},"spec":{}}`)
}

// mkWEP records a workload endpoint the way the CNI plugin does after an ADD.
func mkWEP(t testing.TB, c *store.Client, node, cid string, ip netip.Addr) {
	t.Helper()
	if err := createWEP(c, node, cid, ip); err != nil {
		t.Fatal(err)
	}
}

func createWEP(c *store.Client, node, cid string, ip netip.Addr) error {
	k, _ := api.LookupKind("WorkloadEndpoint")
	r := k.NewResource()
	doc := `{"metadata":{"name":"` + node + `-cni-` + cid + `-eth0","namespace":"default"},"spec":{"orchestrator":"cni","node":"` + node +
		`","containerID":"` + cid + `","endpoint":"eth0","interfaceName":"cali` + cid[:min(11, len(cid))] + `","ipNetworks":["` + netip.PrefixFrom(ip, ip.BitLen()).String() + `"]}}`
	if err := json.Unmarshal([]byte(doc), r); err != nil {
		return err
	}
	_, err := c.Create(context.Background(), r)
	return err
}

func deleteWEP(c *store.Client, node, cid string) error {
	_, err := c.Delete(context.Background(), "WorkloadEndpoint", "default", node+"-cni-"+cid+"-eth0", "")
	return err
}

func rawGet(t testing.TB, c *store.Client, key string) string {
	t.Helper()
	kv, err := c.GetKV(context.Background(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return string(kv.Value)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func assign(t testing.TB, a *Allocator, host, handle string, n4 int) []netip.Prefix {
	t.Helper()
	v4, _, err := a.AutoAssign(ctxT(t), AutoAssignArgs{Num4: n4, HandleID: handle, Hostname: host})
	if err != nil {
		t.Fatalf("AutoAssign(%s, %s, %d): %v", host, handle, n4, err)
	}
	if len(v4) != n4 {
		t.Fatalf("AutoAssign(%s, %s): got %d addresses, want %d", host, handle, len(v4), n4)
	}
	return v4
}

// checkClean fails the test when Check finds any problem.
func checkClean(t testing.TB, a *Allocator) CheckReport {
	t.Helper()
	r, err := a.Check(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Problems() != 0 {
		t.Fatalf("check found %d problems: %+v", r.Problems(), r)
	}
	return r
}
