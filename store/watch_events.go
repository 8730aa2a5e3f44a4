package store

import (
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/brindle-net/brindle/api"
)

// convert turns one watch response into events and records what the consumer is told.
func (w *watcher) convert(resp *clientv3.WatchResponse) []Event {
	out := make([]Event, 0, len(resp.Events))
	for _, e := range resp.Events {
		key := string(e.Kv.Key)
		switch e.Type {
		case mvccpb.PUT:
			if ev, ok := w.update(key, e.Kv.Value, e.Kv.ModRevision); ok {
				out = append(out, ev)
			}
		case mvccpb.DELETE:
			t, ok := w.known[key]
			if !ok {
				continue // the consumer never saw it (e.g. its value did not decode)
			}
			out = append(out, w.deletion(key, t, e.Kv.ModRevision, e.PrevKv))
		}
	}
	return out
}

// update decodes a new value. A value that does not decode becomes a deletion of what the
// consumer had, or nothing if it had nothing; ok is false when there is no event to send.
func (w *watcher) update(key string, value []byte, rev int64) (Event, bool) {
	ev := describeKey(key)
	ev.Type, ev.Revision, ev.Value = Updated, rev, value
	if ev.Kind != nil {
		r, err := decodeAt(ev.Kind, key, value, rev)
		if err != nil {
			// Reported once per key and revision: a resync meets it again and stays quiet.
			w.c.ReportBroken(key, rev, err)
			t, had := w.known[key]
			if !had {
				return Event{}, false
			}
			del := w.deletion(key, t, rev, nil)
			del.Err = err
			return del, true
		}
		ev.Resource = r
		ev.Name = r.GetObjectMeta().Name
	}
	w.known[key] = told{rev: rev, name: ev.Name}
	return ev, true
}

// deletion builds a Deleted event and forgets the key. prev, when etcd sent it, becomes
// the event's Resource so consumers can see what went away.
func (w *watcher) deletion(key string, t told, rev int64, prev *mvccpb.KeyValue) Event {
	delete(w.known, key)
	ev := describeKey(key)
	ev.Type, ev.Revision = Deleted, rev
	if t.name != "" {
		ev.Name = t.name
	}
	if prev != nil {
		ev.Value = prev.Value
		if ev.Kind != nil {
			if r, err := decodeAt(ev.Kind, key, prev.Value, prev.ModRevision); err == nil {
				ev.Resource = r
			}
		}
	}
	return ev
}

// describeKey fills Kind, Namespace and Name from a key alone.
func describeKey(key string) Event {
	ev := Event{Key: key}
	if k, ns, name, ok := ParseResourceKey(key); ok {
		ev.Kind, ev.Namespace, ev.Name = k, ns, name
	} else if key == IPAMConfigKey {
		if k, ok := ipamConfigKind(); ok {
			ev.Kind, ev.Name = k, IPAMConfigName
		}
	}
	return ev
}

func decodeAt(k *api.KindInfo, key string, value []byte, rev int64) (api.Resource, error) {
	r, err := decode(k, value, rev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return r, nil
}
