package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// kindOf finds the registered kind of a resource from its Go type.
func kindOf(r api.Resource) (*api.KindInfo, error) {
	t := reflect.TypeOf(r)
	for _, k := range api.Kinds() {
		if reflect.TypeOf(k.New()) == t {
			return k, nil
		}
	}
	return nil, fmt.Errorf("store: %T is not a registered resource kind", r)
}

// prepare sets kind/apiVersion, applies defaults and validates a resource before a write.
func (c *Client) prepare(ctx context.Context, r api.Resource, old api.Resource) (*api.KindInfo, error) {
	k, err := kindOf(r)
	if err != nil {
		return nil, err
	}
	tm := r.GetTypeMeta()
	tm.Kind, tm.APIVersion = k.Kind, api.Group
	m := r.GetObjectMeta()
	if m.Name == "" {
		return nil, &api.ValidationError{Kind: k.Kind, Errors: []api.FieldError{{Path: "metadata.name", Reason: "is required"}}}
	}
	if k.Namespaced && m.Namespace == "" {
		m.Namespace = "default"
	}
	if !k.Namespaced && m.Namespace != "" {
		return nil, &api.ValidationError{Kind: k.Kind, Name: m.Name, Errors: []api.FieldError{{Path: "metadata.namespace", Value: m.Namespace, Reason: k.Kind + " is not namespaced"}}}
	}
	if d, ok := r.(api.Defaulter); ok {
		d.Default()
	}
	if v, ok := r.(api.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	if err := c.crossCheck(ctx, k, r, old); err != nil {
		return nil, err
	}
	return k, nil
}

// encode is the stored JSON: resourceVersion is never stored, policy names get their tier prefix.
func encode(k *api.KindInfo, r api.Resource) (key string, value []byte, err error) {
	m := r.GetObjectMeta()
	saved := *m
	defer func() { *m = saved }()
	m.ResourceVersion = ""
	storeName := storagePolicyName(k, r)
	key = ResourceKey(k, m.Namespace, storeName)
	value, err = json.Marshal(r)
	return key, value, err
}

// decode parses a stored value into a fresh resource of kind k with resourceVersion set.
func decode(k *api.KindInfo, value []byte, modRev int64) (api.Resource, error) {
	r := k.NewResource()
	if err := json.Unmarshal(value, r); err != nil {
		return nil, fmt.Errorf("decoding stored %s: %w", k.Kind, err)
	}
	tm := r.GetTypeMeta()
	tm.Kind, tm.APIVersion = k.Kind, api.Group
	r.GetObjectMeta().ResourceVersion = strconv.FormatInt(modRev, 10)
	restorePolicyName(k, r)
	return r, nil
}

func resErr(k *api.KindInfo, r api.Resource, err error) error {
	m := r.GetObjectMeta()
	return &ResourceError{Kind: k.Kind, Namespace: m.Namespace, Name: m.Name, Err: err}
}

// Create writes a new resource; ErrAlreadyExists if one with that name exists.
func (c *Client) Create(ctx context.Context, r api.Resource) (api.Resource, error) {
	m := r.GetObjectMeta()
	if m.ResourceVersion != "" {
		return nil, &api.ValidationError{Kind: r.GetTypeMeta().Kind, Name: m.Name, Errors: []api.FieldError{{Path: "metadata.resourceVersion", Value: m.ResourceVersion, Reason: "must not be set on create"}}}
	}
	k, err := c.prepare(ctx, r, nil)
	if err != nil {
		return nil, err
	}
	if m.CreationTimestamp == "" {
		m.CreationTimestamp = time.Now().UTC().Format(time.RFC3339)
	}
	if m.UID == "" {
		m.UID = uuid.NewString()
	}
	key, value, err := encode(k, r)
	if err != nil {
		return nil, err
	}
	rev, err := c.CreateKV(ctx, key, value)
	if err != nil {
		return nil, resErr(k, r, errors.Unwrap(err))
	}
	m.ResourceVersion = strconv.FormatInt(rev, 10)
	return r, nil
}

// Update replaces a resource if its resourceVersion still matches (ErrConflict otherwise).
// uid and creationTimestamp are carried over from the stored object when the caller has none.
func (c *Client) Update(ctx context.Context, r api.Resource) (api.Resource, error) {
	m := r.GetObjectMeta()
	k, err := kindOf(r)
	if err != nil {
		return nil, err
	}
	if m.ResourceVersion == "" {
		return nil, &api.ValidationError{Kind: k.Kind, Name: m.Name, Errors: []api.FieldError{{Path: "metadata.resourceVersion", Reason: "is required on update"}}}
	}
	rv, err := strconv.ParseInt(m.ResourceVersion, 10, 64)
	if err != nil {
		return nil, &api.ValidationError{Kind: k.Kind, Name: m.Name, Errors: []api.FieldError{{Path: "metadata.resourceVersion", Value: m.ResourceVersion, Reason: "must be an integer"}}}
	}
	ns := m.Namespace
	if k.Namespaced && ns == "" {
		ns = "default"
	}
	old, err := c.Get(ctx, k.Kind, ns, m.Name)
	if err != nil {
		return nil, err
	}
	if old.GetObjectMeta().ResourceVersion != m.ResourceVersion {
		return nil, resErr(k, r, ErrConflict)
	}
	om := old.GetObjectMeta()
	if m.UID == "" {
		m.UID = om.UID
	}
	if m.CreationTimestamp == "" {
		m.CreationTimestamp = om.CreationTimestamp
	}
	if _, err := c.prepare(ctx, r, old); err != nil {
		return nil, err
	}
	key, value, err := encode(k, r)
	if err != nil {
		return nil, err
	}
	newRev, err := c.UpdateKV(ctx, key, value, rv)
	if err != nil {
		return nil, resErr(k, r, errors.Unwrap(err))
	}
	m.ResourceVersion = strconv.FormatInt(newRev, 10)
	return r, nil
}

// Apply creates the resource or, if it exists, updates it (calicoctl apply). Without a
// resourceVersion from the caller it retries on concurrent modification.
func (c *Client) Apply(ctx context.Context, r api.Resource) (api.Resource, error) {
	m := r.GetObjectMeta()
	pinned := m.ResourceVersion != ""
	for attempt := 0; ; attempt++ {
		k, err := kindOf(r)
		if err != nil {
			return nil, err
		}
		ns := m.Namespace
		if k.Namespaced && ns == "" {
			ns = "default"
		}
		cur, err := c.Get(ctx, k.Kind, ns, m.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			if pinned {
				return nil, err
			}
			out, err := c.Create(ctx, r)
			if errors.Is(err, ErrAlreadyExists) && attempt < 10 {
				continue
			}
			return out, err
		case err != nil:
			return nil, err
		}
		if !pinned {
			m.ResourceVersion = cur.GetObjectMeta().ResourceVersion
		}
		out, err := c.Update(ctx, r)
		if errors.Is(err, ErrConflict) && !pinned && attempt < 10 {
			m.ResourceVersion = ""
			continue
		}
		return out, err
	}
}

// Get reads one resource by kind name (or alias), namespace and name.
func (c *Client) Get(ctx context.Context, kind, namespace, name string) (api.Resource, error) {
	k, ok := api.LookupKind(kind)
	if !ok {
		return nil, fmt.Errorf("unknown resource kind %q", kind)
	}
	if k.Kind == "Profile" && name == DefaultAllowProfile {
		return defaultAllowProfile(), nil
	}
	if k.Namespaced && namespace == "" {
		namespace = "default"
	}
	key := ResourceKey(k, namespace, storageNameFor(k, name))
	kv, err := c.GetKV(ctx, key)
	if err != nil {
		return nil, &ResourceError{Kind: k.Kind, Namespace: namespace, Name: name, Err: errors.Unwrap(err)}
	}
	return decode(k, kv.Value, kv.ModRevision)
}

// List reads every resource of a kind; namespace "" lists all namespaces. It returns the
// revision of the read, from which a watch can continue without missing anything.
func (c *Client) List(ctx context.Context, kind, namespace string) ([]api.Resource, int64, error) {
	k, ok := api.LookupKind(kind)
	if !ok {
		return nil, 0, fmt.Errorf("unknown resource kind %q", kind)
	}
	kvs, rev, err := c.ListKV(ctx, ListPrefix(k, namespace))
	if err != nil {
		return nil, 0, err
	}
	out := make([]api.Resource, 0, len(kvs)+1)
	for _, kv := range kvs {
		if _, _, _, ok := ParseResourceKey(kv.Key); !ok {
			continue
		}
		r, err := decode(k, kv.Value, kv.ModRevision)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", kv.Key, err)
		}
		out = append(out, r)
	}
	if k.Kind == "Profile" {
		out = append(out, defaultAllowProfile())
	}
	return out, rev, nil
}

// Delete removes a resource; with a non-empty resourceVersion only if it still matches.
// It returns the object as it was.
func (c *Client) Delete(ctx context.Context, kind, namespace, name, resourceVersion string) (api.Resource, error) {
	k, ok := api.LookupKind(kind)
	if !ok {
		return nil, fmt.Errorf("unknown resource kind %q", kind)
	}
	if k.Namespaced && namespace == "" {
		namespace = "default"
	}
	key := ResourceKey(k, namespace, storageNameFor(k, name))
	cmp := clientv3.Compare(clientv3.Version(key), ">", 0)
	if resourceVersion != "" {
		rv, err := strconv.ParseInt(resourceVersion, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("resourceVersion %q: must be an integer", resourceVersion)
		}
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", rv)
	}
	resp, err := c.etcd.Txn(ctx).If(cmp).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key)).Commit()
	ref := &ResourceError{Kind: k.Kind, Namespace: namespace, Name: name}
	if err != nil {
		ref.Err = err
		return nil, ref
	}
	if !resp.Succeeded {
		if rr := resp.Responses[0].GetResponseRange(); rr == nil || len(rr.Kvs) == 0 {
			ref.Err = ErrNotFound
		} else {
			ref.Err = ErrConflict
		}
		return nil, ref
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if del == nil || len(del.PrevKvs) == 0 {
		ref.Err = ErrNotFound
		return nil, ref
	}
	return decode(k, del.PrevKvs[0].Value, del.PrevKvs[0].ModRevision)
}

// GetAs reads one resource as its concrete type, e.g. GetAs[*api.IPPool](ctx, c, "", "p").
func GetAs[T api.Resource](ctx context.Context, c *Client, namespace, name string) (T, error) {
	var zero T
	k, err := kindOf(zero)
	if err != nil {
		return zero, err
	}
	r, err := c.Get(ctx, k.Kind, namespace, name)
	if err != nil {
		return zero, err
	}
	return r.(T), nil
}

// ListAs lists a kind as its concrete type.
func ListAs[T api.Resource](ctx context.Context, c *Client, namespace string) ([]T, int64, error) {
	var zero T
	k, err := kindOf(zero)
	if err != nil {
		return nil, 0, err
	}
	rs, rev, err := c.List(ctx, k.Kind, namespace)
	if err != nil {
		return nil, 0, err
	}
	out := make([]T, 0, len(rs))
	for _, r := range rs {
		if t, ok := r.(T); ok {
			out = append(out, t)
		}
	}
	return out, rev, nil
}
