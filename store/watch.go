package store

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/brindle-net/brindle/api"
)

// EventType says what happened to a key.
type EventType int

const (
	// Updated: the key was created or changed; Event.Resource (or Event.Value) is the new value.
	Updated EventType = iota + 1
	// Deleted: the key is gone; Event.Resource is the last value when etcd reported it.
	Deleted
)

func (t EventType) String() string {
	switch t {
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}

// Event is one change to one key. Consumers should key their caches by Key: it is the
// only identity that is always present (a delete found by a re-list carries no value).
type Event struct {
	Type     EventType
	Key      string
	Revision int64 // ModRevision of the new value; for a delete seen live, the deleting revision

	// Set for v3 resource keys (and /calico/ipam/v2/config as IPAMConfiguration); nil Kind
	// means a raw KV key such as an IPAM block, whose bytes are in Value.
	Kind      *api.KindInfo
	Namespace string
	Name      string // the API name (policy tier prefixes already stripped)
	Resource  api.Resource

	Value []byte // raw stored value (Updated), or the previous value of a live delete
	// Err: the stored value could not be decoded. Such keys are reported as Deleted (if the
	// caller had been told of them) so that a cache drops them rather than keep stale data.
	Err error
}

// Batch is a group of events to apply together.
type Batch struct {
	Events   []Event
	Revision int64 // the datastore revision the caller's view matches after applying this batch
	// InSync is true when, after applying Events, the caller's view equals the datastore at
	// Revision. A batch with InSync false carries no events: it says the watch broke and a
	// re-list is under way (report not-ready; keep the cache, the re-list reconciles it).
	InSync bool
	// FromList marks the batch that completes a list or re-list: the first one, and each
	// one after a resync. Sweeping stray kernel state is safe after such a batch.
	FromList bool
}

// WatchOptions says what to watch.
type WatchOptions struct {
	// Prefixes to list and watch; default DefaultWatchPrefixes(). Prefixes inside another
	// listed prefix are dropped so that no event arrives twice.
	Prefixes   []string
	Buffer     int           // capacity of the returned channel, default 16
	MaxBatch   int           // events coalesced into one batch at most, default 1000
	RetryDelay time.Duration // wait before re-listing after a failure, default 1s
}

// DefaultWatchPrefixes covers every v3 resource and every IPAM key.
func DefaultWatchPrefixes() []string { return []string{ResourcePrefix, IPAMPrefix} }

// Watch lists the prefixes at one revision R, sends that snapshot as one batch, then sends
// the changes from R+1 on. After a compaction or a broken watch it re-lists and sends the
// difference against what it had sent before, so the consumer converges without a restart.
// The channel is closed when ctx ends or the client is closed.
func (c *Client) Watch(ctx context.Context, opts WatchOptions) <-chan Batch {
	if len(opts.Prefixes) == 0 {
		opts.Prefixes = DefaultWatchPrefixes()
	}
	opts.Prefixes = disjointPrefixes(opts.Prefixes)
	if opts.Buffer <= 0 {
		opts.Buffer = 16
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	w := &watcher{c: c, opts: opts, out: make(chan Batch, opts.Buffer), known: map[string]told{},
		log: c.log.Named("watch").With(zap.Strings("prefixes", opts.Prefixes))}
	go w.run(ctx)
	return w.out
}

// told is what the consumer was last told about a key.
type told struct {
	rev  int64
	name string
}

type watcher struct {
	c     *Client
	opts  WatchOptions
	out   chan Batch
	known map[string]told
	log   *zap.Logger
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.out)
	for {
		rev, err := w.resync(ctx)
		if err == nil {
			err = w.follow(ctx, rev)
		}
		if ctx.Err() != nil || w.c.etcd.Ctx().Err() != nil {
			return
		}
		w.log.Warn("watch interrupted; re-listing", zap.Error(err))
		// Tell the consumer once per outage that its view may be stale: rev is set only
		// when a list succeeded, i.e. the consumer was in sync until now.
		if rev != 0 {
			if !w.send(ctx, Batch{Revision: rev}) {
				return
			}
		}
		// A compaction needs no pause: the re-list can succeed at once. Anything else is
		// likely a datastore outage, and hammering it helps nobody.
		if !errors.Is(err, errCompacted) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(w.opts.RetryDelay):
			}
		}
	}
}

var errCompacted = errors.New("watch revision was compacted")

// resync lists every prefix at one revision and sends the difference against w.known.
func (w *watcher) resync(ctx context.Context) (int64, error) {
	var rev int64
	listed := map[string]struct{}{}
	var events []Event
	for _, p := range w.opts.Prefixes {
		ops := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev != 0 {
			ops = append(ops, clientv3.WithRev(rev))
		}
		resp, err := w.c.etcd.Get(ctx, p, ops...)
		if err != nil {
			return 0, &KeyError{Key: p, Err: err}
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			key := string(kv.Key)
			listed[key] = struct{}{}
			if t, ok := w.known[key]; ok && t.rev == kv.ModRevision {
				continue
			}
			if ev, ok := w.update(key, kv.Value, kv.ModRevision); ok {
				events = append(events, ev)
			}
		}
	}
	if ev, ok := w.defaultProfile(listed); ok {
		events = append(events, ev)
	}
	for key, t := range w.known {
		if _, ok := listed[key]; !ok {
			events = append(events, w.deletion(key, t, 0, nil))
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Key < events[j].Key })
	w.log.Debug("listed", zap.Int64("revision", rev), zap.Int("changes", len(events)))
	if !w.send(ctx, Batch{Events: events, Revision: rev, InSync: true, FromList: true}) {
		return rev, ctx.Err()
	}
	return rev, nil
}

// defaultProfile adds the synthesised projectcalico-default-allow profile to a snapshot
// that covers profiles, as List does, so consumers see one consistent set.
func (w *watcher) defaultProfile(listed map[string]struct{}) (Event, bool) {
	k, ok := api.LookupKind("Profile")
	if !ok {
		return Event{}, false
	}
	key := ResourceKey(k, "", DefaultAllowProfile)
	if !w.covers(key) {
		return Event{}, false
	}
	if _, stored := listed[key]; stored {
		return Event{}, false
	}
	listed[key] = struct{}{}
	if _, ok := w.known[key]; ok {
		return Event{}, false
	}
	r := defaultAllowProfile()
	w.known[key] = told{rev: 1, name: DefaultAllowProfile}
	return Event{Type: Updated, Key: key, Revision: 1, Kind: k, Name: DefaultAllowProfile, Resource: r}, true
}

func (w *watcher) covers(key string) bool {
	for _, p := range w.opts.Prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// follow streams changes after rev until the watch fails or ctx ends.
func (w *watcher) follow(ctx context.Context, rev int64) error {
	// RequireLeader makes a member that lost its cluster cancel the watch instead of
	// leaving us silently stale behind a partition.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	cases := make([]reflect.SelectCase, 0, len(w.opts.Prefixes)+1)
	for _, p := range w.opts.Prefixes {
		ch := w.c.etcd.Watch(wctx, p, clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithPrevKV())
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for {
		resp, err := w.receive(cases, true)
		if err != nil {
			return err
		}
		events := w.convert(resp)
		last := resp.Header.Revision
		// Coalesce whatever else is already waiting, so a burst becomes one batch.
		for len(events) < w.opts.MaxBatch {
			more, err := w.receive(cases, false)
			if err != nil {
				return err
			}
			if more == nil {
				break
			}
			events = append(events, w.convert(more)...)
			last = max(last, more.Header.Revision)
		}
		if len(events) == 0 {
			continue
		}
		if !w.send(ctx, Batch{Events: events, Revision: last, InSync: true}) {
			return ctx.Err()
		}
	}
}

// receive takes one watch response; with block false it returns nil when none is waiting.
func (w *watcher) receive(cases []reflect.SelectCase, block bool) (*clientv3.WatchResponse, error) {
	if !block {
		cases = append(cases[:len(cases):len(cases)], reflect.SelectCase{Dir: reflect.SelectDefault})
	}
	chosen, v, ok := reflect.Select(cases)
	switch {
	case !block && chosen == len(cases)-1:
		return nil, nil
	case chosen == len(w.opts.Prefixes):
		return nil, context.Canceled
	case !ok:
		return nil, errors.New("watch channel closed")
	}
	resp := v.Interface().(clientv3.WatchResponse)
	if resp.CompactRevision != 0 {
		return nil, errCompacted
	}
	if err := resp.Err(); err != nil {
		return nil, err
	}
	return &resp, nil
}

func (w *watcher) send(ctx context.Context, b Batch) bool {
	select {
	case w.out <- b:
		return true
	case <-ctx.Done():
		return false
	}
}

// disjointPrefixes drops duplicates and prefixes inside another one.
func disjointPrefixes(in []string) []string {
	s := append([]string(nil), in...)
	sort.Strings(s)
	var out []string
	for _, p := range s {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}
