package store

import (
	"context"
	"encoding/json"
	"net/netip"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/brindle-net/brindle/api"
)

// crossCheck runs validation that needs other stored resources (pool overlap, immutable
// fields). old is the stored object on update, nil on create. The returned guards make the
// write fail (and be retried) if what the check read changed before the write commits, so
// two concurrent creates of overlapping pools cannot both succeed.
func (c *Client) crossCheck(ctx context.Context, k *api.KindInfo, r, old api.Resource) ([]clientv3.Cmp, error) {
	switch {
	case isIPAMConfig(k):
		if n := r.GetObjectMeta().Name; n != IPAMConfigName {
			return nil, &api.ValidationError{Kind: k.Kind, Name: n, Errors: []api.FieldError{{Path: "metadata.name", Value: n, Reason: `must be "default"`}}}
		}
	case k.Kind == "IPPool":
		return c.checkIPPool(ctx, k, r, old)
	}
	return nil, nil
}

// poolFields are the IPPool fields the checks need, read through JSON so the store does
// not depend on the api type beyond its JSON names.
type poolFields struct {
	Name string
	CIDR string `json:"cidr"`
	// BlockSize 0 means "not set", i.e. Calico's default for the family.
	BlockSize int `json:"blockSize"`
}

func readPool(r api.Resource) (poolFields, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return poolFields{}, err
	}
	var obj struct {
		Spec poolFields `json:"spec"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return poolFields{}, err
	}
	obj.Spec.Name = r.GetObjectMeta().Name
	return obj.Spec, nil
}

func (c *Client) checkIPPool(ctx context.Context, k *api.KindInfo, r, old api.Resource) ([]clientv3.Cmp, error) {
	p, err := readPool(r)
	if err != nil {
		return nil, err
	}
	var errs api.Errs
	if old != nil {
		o, err := readPool(old)
		if err != nil {
			return nil, err
		}
		if o.CIDR != p.CIDR {
			errs.Add("spec.cidr", p.CIDR, "cannot be changed (stored value %s); create a new pool instead", o.CIDR)
		}
		if blockSizeOrDefault(o) != blockSizeOrDefault(p) {
			errs.Add("spec.blockSize", p.BlockSize, "cannot be changed (stored value %d)", blockSizeOrDefault(o))
		}
	}
	prefix, perr := netip.ParsePrefix(p.CIDR)
	if perr != nil {
		// Field validation (api) reports a malformed CIDR; nothing to compare here.
		return nil, errs.For(r)
	}
	kvs, rev, err := c.ListKV(ctx, ListPrefix(k, ""))
	if err != nil {
		return nil, err
	}
	for _, kv := range kvs {
		other, err := decode(k, kv.Value, kv.ModRevision)
		if err != nil {
			continue // an undecodable pool cannot be compared; its owner will see it on read
		}
		o, err := readPool(other)
		if err != nil || o.Name == p.Name {
			continue
		}
		op, err := netip.ParsePrefix(o.CIDR)
		if err != nil {
			continue
		}
		if op.Overlaps(prefix) {
			errs.Add("spec.cidr", p.CIDR, "overlaps IPPool %q (%s)", o.Name, o.CIDR)
		}
	}
	if err := errs.For(r); err != nil {
		return nil, err
	}
	// Every pool key must be unchanged since the list (a new or changed pool fails this).
	guard := clientv3.Compare(clientv3.ModRevision(ListPrefix(k, "")), "<", rev+1).WithPrefix()
	return []clientv3.Cmp{guard}, nil
}

func blockSizeOrDefault(p poolFields) int {
	if p.BlockSize != 0 {
		return p.BlockSize
	}
	if pr, err := netip.ParsePrefix(p.CIDR); err == nil && pr.Addr().Is6() {
		return 122
	}
	return 26
}
