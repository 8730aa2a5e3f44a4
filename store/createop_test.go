package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// CreateOp prepares what Create would write: stored through a transaction of the caller's,
// the record reads back as a created one (defaults, uid, creationTimestamp); invalid records
// and kinds with cross-resource checks are refused before anything is written.
func TestCreateOp(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	w := &api.WorkloadEndpoint{ObjectMeta: api.ObjectMeta{Name: "n-cni-c1-eth0"},
		Spec: api.WorkloadEndpointSpec{Node: "n", ContainerID: "c1", Endpoint: "eth0", InterfaceName: "calic1", Orchestrator: "cni"}}
	op, err := c.CreateOp(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if op.ModRevision != 0 || op.Delete {
		t.Fatalf("op %+v: want a create", op)
	}
	if _, err := c.CreateKV(ctx, op.Key, op.Value); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetAs[*api.WorkloadEndpoint](ctx, c, "default", "n-cni-c1-eth0")
	if err != nil {
		t.Fatal(err)
	}
	if got.UID == "" || got.CreationTimestamp == "" || got.Spec.ContainerID != "c1" || got.Namespace != "default" {
		t.Fatalf("read back %+v", got.ObjectMeta)
	}
	bad := &api.WorkloadEndpoint{ObjectMeta: api.ObjectMeta{Name: "Bad_Name"}}
	if _, err := c.CreateOp(ctx, bad); err == nil {
		t.Fatal("invalid name accepted")
	}
	p := &api.IPPool{ObjectMeta: api.ObjectMeta{Name: "p1"}, Spec: api.IPPoolSpec{CIDR: "10.244.0.0/16", BlockSize: 26}}
	if _, err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p2 := &api.IPPool{ObjectMeta: api.ObjectMeta{Name: "p2"}, Spec: api.IPPoolSpec{CIDR: "10.245.0.0/16", BlockSize: 26}}
	if _, err := c.CreateOp(ctx, p2); err == nil || errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("IPPool: want a refusal, got %v", err)
	}
}
