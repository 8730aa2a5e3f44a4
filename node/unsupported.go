package node

import (
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
)

// unsupportedLog says once which set fields of a resource brindle stores but does not act
// on (issue #10: every Calico field is accepted, and the agent reports the ones it ignores).
// "Once" means once per change of the list for a resource: an edit that touches only
// supported fields, or a resync, logs nothing.
type unsupportedLog struct {
	log  *zap.Logger
	seen map[string]string // kind/namespace/name -> the list last logged, joined
}

// unsupportedKinds are the kinds whose ignored fields an operator would want to hear about.
// Workload endpoints are left out: they are written by the CNI plugin, not by hand, and
// there may be tens of thousands of them.
var unsupportedKinds = map[string]bool{
	"FelixConfiguration": true, "BGPConfiguration": true, "BGPPeer": true, "IPPool": true,
	"GlobalNetworkPolicy": true, "NetworkPolicy": true, "Profile": true,
}

func newUnsupportedLog(log *zap.Logger) *unsupportedLog {
	return &unsupportedLog{log: log, seen: map[string]string{}}
}

// note looks at one watch event; nil-safe so that tests may leave it out.
func (u *unsupportedLog) note(ev store.Event) {
	if u == nil || ev.Kind == nil || !unsupportedKinds[ev.Kind.Kind] {
		return
	}
	id := ev.Kind.Kind + "/" + ev.Namespace + "/" + ev.Name
	if ev.Type == store.Deleted || ev.Resource == nil {
		delete(u.seen, id)
		return
	}
	fields := api.UnsupportedFields(ev.Resource)
	joined := strings.Join(fields, ",")
	if prev, ok := u.seen[id]; ok && prev == joined || !ok && joined == "" {
		u.seen[id] = joined
		return
	}
	u.seen[id] = joined
	if joined == "" {
		return
	}
	u.log.Info("resource sets fields brindle stores but does not act on",
		zap.String("kind", ev.Kind.Kind), zap.String("namespace", ev.Namespace),
		zap.String("name", ev.Name), zap.Strings("fields", fields))
}
