package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

func TestCreateGetConflict(t *testing.T) {
	_, c := datastore.StartTest(t)
	ctx := context.Background()
	p := &api.IPPool{ObjectMeta: api.ObjectMeta{Name: "p1"}, Spec: api.IPPoolSpec{CIDR: "10.244.0.0/16", BlockSize: 26}}
	if _, err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, &api.IPPool{ObjectMeta: api.ObjectMeta{Name: "p1"}, Spec: api.IPPoolSpec{CIDR: "10.245.0.0/16"}}); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("second create: want ErrAlreadyExists, got %v", err)
	}
	a, err := store.GetAs[*api.IPPool](ctx, c, "", "p1")
	if err != nil {
		t.Fatal(err)
	}
	b := *a
	a.Spec.NATOutgoing = true
	if _, err := c.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	b.Spec.Disabled = true
	if _, err := c.Update(ctx, &b); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: want ErrConflict, got %v", err)
	}
}
