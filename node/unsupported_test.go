package node

import (
	"testing"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func felixEvent(t *testing.T, yaml string) store.Event {
	t.Helper()
	docs, err := api.DecodeDocuments([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	r := docs[0]
	k, _ := api.LookupKind("FelixConfiguration")
	return store.Event{Type: store.Updated, Kind: k, Name: r.GetObjectMeta().Name, Resource: r}
}

// An ignored field is logged once, again only when the list changes, and never for a
// resource that sets only what brindle acts on.
func TestUnsupportedFieldsLoggedOnce(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	u := newUnsupportedLog(zap.New(core))
	const head = "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec:\n"
	u.note(felixEvent(t, head+"  vxlanMTU: 1400\n"))
	if n := logs.Len(); n != 0 {
		t.Fatalf("supported field only: %d log lines, want 0", n)
	}
	bpf := felixEvent(t, head+"  bpfLogLevel: Debug\n")
	u.note(bpf)
	u.note(bpf) // a resync delivers the same record again
	if n := logs.Len(); n != 1 {
		t.Fatalf("after the same ignored field twice: %d log lines, want 1", n)
	}
	got := logs.All()[0].ContextMap()["fields"]
	if fs, ok := got.([]interface{}); !ok || len(fs) != 1 || fs[0] != "spec.bpfLogLevel" {
		t.Fatalf("fields = %#v, want [spec.bpfLogLevel]", got)
	}
	u.note(felixEvent(t, head+"  bpfLogLevel: Debug\n  bpfEnabled: false\n"))
	if n := logs.Len(); n != 2 {
		t.Fatalf("after a second ignored field: %d log lines, want 2", n)
	}
}
