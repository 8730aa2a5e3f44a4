package cnitest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/cli"
	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// brindleCLI runs one brindle command in-process against endpoints, as a user would.
func brindleCLI(t *testing.T, endpoints string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	app := cli.NewApp("brindle")
	app.Writer, app.ErrWriter = &out, &errOut
	full := append([]string{"brindle", "--etcd-endpoints", endpoints, "--config", ""}, args...)
	if err := app.Run(full); err != nil {
		t.Fatalf("brindle %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return out.String()
}

// A pool applied with `brindle apply` to a plain etcd that no node agent has touched is enough
// for an IPAM ADD (issue 10 item 1): the write initialises the datastore as calicoctl's does,
// so the plugins do not refuse with "the datastore is not initialised".
func TestApplyOnFreshEtcdThenIPAMAdd(t *testing.T) {
	requireRoot(t)
	host := hostNetns(t)
	srv, sc := datastore.StartTest(t)
	cl := &cluster{endpoints: strings.Join(srv.ClientURLs(), ","), sc: sc, srv: srv, stateDir: t.TempDir()}
	pool := filepath.Join(t.TempDir(), "pool.yaml")
	if err := os.WriteFile(pool, []byte(`apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: fresh-pool
spec:
  cidr: 10.238.0.0/24
  blockSize: 26
  natOutgoing: true
`), 0o644); err != nil {
		t.Fatal(err)
	}
	brindleCLI(t, cl.endpoints, "apply", "-f", pool)

	ctx := context.Background()
	kv, err := sc.GetKV(ctx, store.ResourcePrefix+"clusterinformations/default")
	if err != nil {
		t.Fatalf("apply left the datastore uninitialised: %v", err)
	}
	var ci struct {
		Spec struct {
			ClusterGUID    string `json:"clusterGUID"`
			DatastoreReady bool   `json:"datastoreReady"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(kv.Value, &ci); err != nil || !ci.Spec.DatastoreReady || ci.Spec.ClusterGUID == "" {
		t.Fatalf("clusterinformations/default = %s (%v), want datastoreReady true and a GUID", kv.Value, err)
	}
	for _, tier := range store.DefaultTiers {
		if _, err := sc.GetKV(ctx, store.ResourcePrefix+"tiers/"+tier.Name); err != nil {
			t.Errorf("tier %s: %v", tier.Name, err)
		}
	}
	// A second write changes nothing already there (the GUID stays).
	brindleCLI(t, cl.endpoints, "apply", "-f", pool)
	if kv2, _ := sc.GetKV(ctx, kv.Key); kv2 == nil || kv2.ModRevision != kv.ModRevision {
		t.Errorf("a second apply rewrote clusterinformations/default")
	}

	conf := cl.calicoConf(map[string]any{"name": "bcni-net", "cniVersion": "1.0.0"})
	r := cl.plugin(t, host, "calico-ipam", pluginCall{Command: "ADD", ContainerID: "fresh1", Netns: "/var/run/netns/none", Conf: conf})
	if r.err != nil {
		t.Fatalf("IPAM ADD after apply on a fresh etcd: %v %s %s", r.err, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "10.238.0.") {
		t.Fatalf("IPAM ADD gave no address from the pool: %s", r.stdout)
	}
}
