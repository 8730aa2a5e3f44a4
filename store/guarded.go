package store

import (
	"context"
	"errors"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// errStaleCheck: the key's own condition held but a cross-resource guard did not, so the
// checks ran on data that changed meanwhile; the caller re-runs them.
var errStaleCheck = errors.New("cross-resource check is stale")

const maxCheckRetries = 10

// guardedPut writes key in one transaction that also requires every guard. rv 0 means the
// key must not exist (create); rv > 0 means it must still have that ModRevision (update).
func (c *Client) guardedPut(ctx context.Context, key string, value []byte, rv int64, guards []clientv3.Cmp) (int64, error) {
	cmps := make([]clientv3.Cmp, 0, len(guards)+1)
	if rv == 0 {
		cmps = append(cmps, clientv3.Compare(clientv3.Version(key), "=", 0))
	} else {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", rv))
	}
	cmps = append(cmps, guards...)
	resp, err := c.etcd.Txn(ctx).If(cmps...).
		Then(clientv3.OpPut(key, string(value))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return 0, err
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	var cur *int64
	if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
		cur = &rr.Kvs[0].ModRevision
	}
	switch {
	case rv == 0 && cur != nil:
		return 0, ErrAlreadyExists
	case rv > 0 && cur == nil:
		return 0, ErrNotFound
	case rv > 0 && *cur != rv:
		return 0, ErrConflict
	}
	return 0, errStaleCheck
}
