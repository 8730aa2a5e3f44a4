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
// The guards it returns must hold when the write commits, or the checks are stale.
func (c *Client) prepare(ctx context.Context, r api.Resource, old api.Resource) (*api.KindInfo, []clientv3.Cmp, error) {
	k, err := kindOf(r)
	if err != nil {
		return nil, nil, err
	}
	tm := r.GetTypeMeta()
	tm.Kind, tm.APIVersion = k.Kind, api.Group
	m := r.GetObjectMeta()
	if m.Name == "" {
		return nil, nil, &api.ValidationError{Kind: k.Kind, Errors: []api.FieldError{{Path: "metadata.name", Reason: "is required"}}}
	}
	if k.Namespaced && m.Namespace == "" {
		m.Namespace = "default"
	}
	if !k.Namespaced && m.Namespace != "" {
		return nil, nil, &api.ValidationError{Kind: k.Kind, Name: m.Name, Errors: []api.FieldError{{Path: "metadata.namespace", Value: m.Namespace, Reason: k.Kind + " is not namespaced"}}}
	}
	if d, ok := r.(api.Defaulter); ok {
		d.Default()
	}
	if v, ok := r.(api.Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, nil, err
		}
	}
	guards, err := c.crossCheck(ctx, k, r, old)
	if err != nil {
		return nil, nil, err
	}
	return k, guards, nil
}

// encode is the stored JSON: resourceVersion is never stored, policy names get their tier
// prefix, and IPAMConfiguration becomes Calico's IPAM config value.
func encode(k *api.KindInfo, r api.Resource) (key string, value []byte, err error) {
	if isIPAMConfig(k) {
		value, err = encodeIPAMConfig(r)
		return IPAMConfigKey, value, err
	}
	m := r.GetObjectMeta()
	saved := *m
	defer func() { *m = saved }()
	m.ResourceVersion = ""
	setStorageName(k, r)
	key = ResourceKey(k, m.Namespace, m.Name)
	value, err = json.Marshal(r)
	return key, value, err
}

// decode parses a stored value into a fresh resource of kind k with resourceVersion set.
func decode(k *api.KindInfo, value []byte, modRev int64) (api.Resource, error) {
	if isIPAMConfig(k) {
		r, err := decodeIPAMConfig(k, value, modRev)
		if err != nil {
			return nil, &undecodable{err}
		}
		return r, nil
	}
	r := k.NewResource()
	if err := json.Unmarshal(value, r); err != nil {
		return nil, &undecodable{fmt.Errorf("decoding stored %s: %w", k.Kind, err)}
	}
	if err := checkStored(k, value, r); err != nil {
		return nil, &undecodable{err}
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
	for attempt := 0; ; attempt++ {
		k, guards, err := c.prepare(ctx, r, nil)
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
		rev, err := c.guardedPut(ctx, key, value, 0, guards)
		if errors.Is(err, errStaleCheck) && attempt < maxCheckRetries {
			continue // another write changed what the cross-resource checks read
		}
		if err != nil {
			return nil, resErr(k, r, err)
		}
		m.ResourceVersion = strconv.FormatInt(rev, 10)
		return r, nil
	}
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
	if err != nil || rv <= 0 {
		return nil, &api.ValidationError{Kind: k.Kind, Name: m.Name, Errors: []api.FieldError{{Path: "metadata.resourceVersion", Value: m.ResourceVersion, Reason: "must be a positive integer"}}}
	}
	ns := m.Namespace
	if k.Namespaced && ns == "" {
		ns = "default"
	}
	for attempt := 0; ; attempt++ {
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
		_, guards, err := c.prepare(ctx, r, old)
		if err != nil {
			return nil, err
		}
		key, value, err := encode(k, r)
		if err != nil {
			return nil, err
		}
		newRev, err := c.guardedPut(ctx, key, value, rv, guards)
		if errors.Is(err, errStaleCheck) && attempt < maxCheckRetries {
			continue
		}
		if err != nil {
			return nil, resErr(k, r, err)
		}
		m.ResourceVersion = strconv.FormatInt(newRev, 10)
		return r, nil
	}
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
	if isIPAMConfig(k) && name != IPAMConfigName {
		return nil, &ResourceError{Kind: k.Kind, Name: name, Err: ErrNotFound}
	}
	var kv *KV
	var err error
	for _, stored := range storageNamesFor(k, name) {
		if kv, err = c.GetKV(ctx, ResourceKey(k, namespace, stored)); !errors.Is(err, ErrNotFound) {
			break
		}
	}
	if err != nil {
		return nil, &ResourceError{Kind: k.Kind, Namespace: namespace, Name: name, Err: errors.Unwrap(err)}
	}
	return decode(k, kv.Value, kv.ModRevision)
}

// List reads every resource of a kind; namespace "" lists all namespaces. It returns the
// revision of the read, from which a watch can continue without missing anything. A stored
// value that does not decode is skipped and reported once (see ReportBroken).
func (c *Client) List(ctx context.Context, kind, namespace string) ([]api.Resource, int64, error) {
	out, _, rev, err := c.ListWithBroken(ctx, kind, namespace)
	return out, rev, err
}

// ListWithBroken is List that also returns the records it skipped, for callers that show
// them (brindle get prints each as an error line).
func (c *Client) ListWithBroken(ctx context.Context, kind, namespace string) ([]api.Resource, []BrokenRecord, int64, error) {
	k, ok := api.LookupKind(kind)
	if !ok {
		return nil, nil, 0, fmt.Errorf("unknown resource kind %q", kind)
	}
	kvs, rev, err := c.ListKV(ctx, ListPrefix(k, namespace))
	if err != nil {
		return nil, nil, 0, err
	}
	out := make([]api.Resource, 0, len(kvs)+1)
	var broken []BrokenRecord
	for _, kv := range kvs {
		if _, _, _, ok := ParseResourceKey(kv.Key); !ok && !isIPAMConfig(k) {
			continue
		}
		r, err := decode(k, kv.Value, kv.ModRevision)
		if err != nil {
			broken = append(broken, c.ReportBroken(kv.Key, kv.ModRevision, err))
			continue
		}
		out = append(out, r)
	}
	if k.Kind == "Profile" {
		out = append(out, defaultAllowProfile())
	}
	return out, broken, rev, nil
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
	var rv int64
	if resourceVersion != "" {
		var err error
		if rv, err = strconv.ParseInt(resourceVersion, 10, 64); err != nil || rv <= 0 {
			return nil, &api.ValidationError{Kind: k.Kind, Name: name, Errors: []api.FieldError{{Path: "metadata.resourceVersion", Value: resourceVersion, Reason: "must be a positive integer"}}}
		}
	}
	ref := &ResourceError{Kind: k.Kind, Namespace: namespace, Name: name, Err: ErrNotFound}
	if isIPAMConfig(k) && name != IPAMConfigName {
		return nil, ref
	}
	for _, stored := range storageNamesFor(k, name) {
		prev, err := c.deleteKey(ctx, ResourceKey(k, namespace, stored), rv)
		if errors.Is(err, ErrNotFound) {
			ref.Err = err
			continue
		}
		if err != nil {
			ref.Err = err
			return nil, ref
		}
		r, err := decode(k, prev.Value, prev.ModRevision)
		if err != nil {
			// Deleting is how a broken record is cleaned up: report what was deleted by
			// name rather than fail a delete that has happened.
			r = k.NewResource()
			tm, m := r.GetTypeMeta(), r.GetObjectMeta()
			tm.Kind, tm.APIVersion = k.Kind, api.Group
			m.Namespace, m.Name = namespace, name
		}
		return r, nil
	}
	return nil, ref
}

// deleteKey deletes key (only at revision rv if rv > 0) and returns its last value.
func (c *Client) deleteKey(ctx context.Context, key string, rv int64) (*KV, error) {
	cmp := clientv3.Compare(clientv3.Version(key), ">", 0)
	if rv > 0 {
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", rv)
	}
	resp, err := c.etcd.Txn(ctx).If(cmp).
		Then(clientv3.OpDelete(key, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(key, clientv3.WithCountOnly())).Commit()
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded {
		return nil, missingOrConflict(resp)
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if del == nil || len(del.PrevKvs) == 0 {
		return nil, ErrNotFound
	}
	kv := del.PrevKvs[0]
	return &KV{Key: key, Value: kv.Value, ModRevision: kv.ModRevision}, nil
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

// CreateOp prepares r exactly as Create would (kind, defaults, validation, uid,
// creationTimestamp) and returns the write without making it, for a caller that folds the
// creation into a transaction of its own (the CNI plugin's endpoint joins IPAM's write).
// The op's ModRevision 0 means the key must not exist. Kinds whose creation depends on
// other resources (IPPool overlap checks) are refused: their guards cannot ride along.
func (c *Client) CreateOp(ctx context.Context, r api.Resource) (Op, error) {
	m := r.GetObjectMeta()
	if m.ResourceVersion != "" {
		return Op{}, &api.ValidationError{Kind: r.GetTypeMeta().Kind, Name: m.Name, Errors: []api.FieldError{{Path: "metadata.resourceVersion", Value: m.ResourceVersion, Reason: "must not be set on create"}}}
	}
	k, guards, err := c.prepare(ctx, r, nil)
	if err != nil {
		return Op{}, err
	}
	if len(guards) > 0 {
		return Op{}, fmt.Errorf("store: creating a %s needs cross-resource guards; use Create", k.Kind)
	}
	if m.CreationTimestamp == "" {
		m.CreationTimestamp = time.Now().UTC().Format(time.RFC3339)
	}
	if m.UID == "" {
		m.UID = uuid.NewString()
	}
	key, value, err := encode(k, r)
	if err != nil {
		return Op{}, resErr(k, r, err)
	}
	return Op{Key: key, Value: value}, nil
}
