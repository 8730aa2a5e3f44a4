package store

import (
	"context"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// KV is one raw key with the revision it was last modified at. IPAM works at this level:
// its keys (/calico/ipam/v2/...) are not v3 resources.
type KV struct {
	Key         string
	Value       []byte
	ModRevision int64
}

// GetKV reads one key; ErrNotFound when absent.
func (c *Client) GetKV(ctx context.Context, key string) (*KV, error) {
	resp, err := c.etcd.Get(ctx, key)
	if err != nil {
		return nil, &KeyError{Key: key, Err: err}
	}
	if len(resp.Kvs) == 0 {
		return nil, &KeyError{Key: key, Err: ErrNotFound}
	}
	kv := resp.Kvs[0]
	return &KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}, nil
}

// ListKV reads every key under prefix and the revision of the read.
func (c *Client) ListKV(ctx context.Context, prefix string) ([]KV, int64, error) {
	resp, err := c.etcd.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, &KeyError{Key: prefix, Err: err}
	}
	out := make([]KV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = KV{Key: string(kv.Key), Value: kv.Value, ModRevision: kv.ModRevision}
	}
	return out, resp.Header.Revision, nil
}

// CreateKV writes key only if it does not exist; returns the new ModRevision.
func (c *Client) CreateKV(ctx context.Context, key string, value []byte) (int64, error) {
	resp, err := c.etcd.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(key), "=", 0)).
		Then(clientv3.OpPut(key, string(value))).
		Commit()
	if err != nil {
		return 0, &KeyError{Key: key, Err: err}
	}
	if !resp.Succeeded {
		return 0, &KeyError{Key: key, Err: ErrAlreadyExists}
	}
	return resp.Header.Revision, nil
}

// UpdateKV writes key only if it still has modRev; ErrConflict if it changed, ErrNotFound if gone.
func (c *Client) UpdateKV(ctx context.Context, key string, value []byte, modRev int64) (int64, error) {
	resp, err := c.etcd.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", modRev)).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key, clientv3.WithCountOnly())).
		Commit()
	if err != nil {
		return 0, &KeyError{Key: key, Err: err}
	}
	if !resp.Succeeded {
		return 0, &KeyError{Key: key, Err: missingOrConflict(resp)}
	}
	return resp.Header.Revision, nil
}

// DeleteKV deletes key; with modRev > 0 only if it still has that revision.
func (c *Client) DeleteKV(ctx context.Context, key string, modRev int64) error {
	var cmps []clientv3.Cmp
	if modRev > 0 {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", modRev))
	} else {
		cmps = append(cmps, clientv3.Compare(clientv3.Version(key), ">", 0))
	}
	resp, err := c.etcd.Txn(ctx).If(cmps...).
		Then(clientv3.OpDelete(key)).
		Else(clientv3.OpGet(key, clientv3.WithCountOnly())).
		Commit()
	if err != nil {
		return &KeyError{Key: key, Err: err}
	}
	if !resp.Succeeded {
		return &KeyError{Key: key, Err: missingOrConflict(resp)}
	}
	return nil
}

// PutKV writes key unconditionally (calicoctl's apply semantics).
func (c *Client) PutKV(ctx context.Context, key string, value []byte) (int64, error) {
	resp, err := c.etcd.Put(ctx, key, string(value))
	if err != nil {
		return 0, &KeyError{Key: key, Err: err}
	}
	return resp.Header.Revision, nil
}

// Op is one conditional write in a multi-key transaction (see Txn).
type Op struct {
	Key         string
	Value       []byte // nil with Delete
	Delete      bool
	ModRevision int64 // 0: the key must not exist (or, for Delete, must exist); >0: must have this revision
}

// Txn applies every op atomically, or none of them when any condition fails (ErrConflict).
func (c *Client) Txn(ctx context.Context, ops ...Op) (int64, error) {
	cmps := make([]clientv3.Cmp, 0, len(ops))
	puts := make([]clientv3.Op, 0, len(ops))
	for _, o := range ops {
		switch {
		case o.ModRevision > 0:
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(o.Key), "=", o.ModRevision))
		case o.Delete:
			cmps = append(cmps, clientv3.Compare(clientv3.Version(o.Key), ">", 0))
		default:
			cmps = append(cmps, clientv3.Compare(clientv3.Version(o.Key), "=", 0))
		}
		if o.Delete {
			puts = append(puts, clientv3.OpDelete(o.Key))
		} else {
			puts = append(puts, clientv3.OpPut(o.Key, string(o.Value)))
		}
	}
	resp, err := c.etcd.Txn(ctx).If(cmps...).Then(puts...).Commit()
	if err != nil {
		return 0, err
	}
	if !resp.Succeeded {
		return 0, ErrConflict
	}
	return resp.Header.Revision, nil
}

func missingOrConflict(resp *clientv3.TxnResponse) error {
	if len(resp.Responses) > 0 {
		if r := resp.Responses[0].GetResponseRange(); r != nil && r.Count == 0 {
			return ErrNotFound
		}
	}
	return ErrConflict
}

// ListKeys returns the keys under prefix without their values (cheap for large values such
// as IPAM blocks, when only which keys exist matters).
func (c *Client) ListKeys(ctx context.Context, prefix string) ([]string, error) {
	resp, err := c.etcd.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, &KeyError{Key: prefix, Err: err}
	}
	out := make([]string, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		out[i] = string(kv.Key)
	}
	return out, nil
}
