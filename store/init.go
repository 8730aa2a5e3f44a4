package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/brindle-net/brindle/api"
)

// The records a datastore starts with, as Calico's EnsureInitialized creates them (the
// dump in shared/reference shows their exact JSON). They are written as raw JSON so this
// does not depend on the api package registering ClusterInformation and Tier.

type initMeta struct {
	Name              string `json:"name"`
	UID               string `json:"uid"`
	CreationTimestamp string `json:"creationTimestamp"`
}

type initRecord struct {
	Kind       string   `json:"kind"`
	APIVersion string   `json:"apiVersion"`
	Metadata   initMeta `json:"metadata"`
	Spec       any      `json:"spec"`
}

type clusterInfoSpec struct {
	ClusterGUID    string `json:"clusterGUID"`
	ClusterType    string `json:"clusterType"`
	CalicoVersion  string `json:"calicoVersion"`
	DatastoreReady bool   `json:"datastoreReady"`
}

type tierSpec struct {
	Order         int64  `json:"order"`
	DefaultAction string `json:"defaultAction"`
}

// DefaultTiers are the tiers every datastore has (name, order, default action).
var DefaultTiers = []struct {
	Name          string
	Order         int64
	DefaultAction string
}{
	{"adminnetworkpolicy", 1000, "Pass"},
	{DefaultTier, 1000000, "Deny"},
	{"baselineadminnetworkpolicy", 10000000, "Pass"},
}

// EnsureInitialized creates clusterinformations/default (datastoreReady true), the default
// tiers and the IPAM config when missing. Each is a create that tolerates AlreadyExists, so
// several initialisers may run at once and existing records (e.g. the cluster GUID) are
// never changed.
func (c *Client) EnsureInitialized(ctx context.Context) error {
	now := time.Now().UTC().Format(time.RFC3339)
	record := func(kind, name string, spec any) ([]byte, error) {
		return json.Marshal(initRecord{Kind: kind, APIVersion: api.Group,
			Metadata: initMeta{Name: name, UID: uuid.NewString(), CreationTimestamp: now}, Spec: spec})
	}
	guid := make([]byte, 16)
	if _, err := rand.Read(guid); err != nil {
		return fmt.Errorf("generating cluster GUID: %w", err)
	}
	version := c.cfg.Version
	if version == "" {
		version = "dev"
	}
	ci, err := record("ClusterInformation", "default", clusterInfoSpec{
		ClusterGUID: hex.EncodeToString(guid), ClusterType: "bgp",
		CalicoVersion: "brindle-" + version, DatastoreReady: true})
	if err != nil {
		return err
	}
	writes := []initWrite{{IPAMConfigKey, []byte(`{"auto_allocate_blocks":true}`)}}
	for _, t := range DefaultTiers {
		v, err := record("Tier", t.Name, tierSpec{Order: t.Order, DefaultAction: t.DefaultAction})
		if err != nil {
			return err
		}
		writes = append(writes, initWrite{ResourcePrefix + "tiers/" + t.Name, v})
	}
	// datastoreReady last: whoever sees it (the CNI plugin, an agent, a test) may rely on the
	// tiers and the IPAM config being there already.
	writes = append(writes, initWrite{ResourcePrefix + "clusterinformations/default", ci})
	if c.initialized(ctx, writes) {
		return nil
	}
	for _, w := range writes {
		if _, err := c.CreateKV(ctx, w.key, w.value); err != nil && !errors.Is(err, ErrAlreadyExists) {
			return fmt.Errorf("initialising datastore: %w", err)
		}
	}
	return nil
}

type initWrite struct {
	key   string
	value []byte
}

// initialized reports whether every record exists already, in one round trip: every write
// command initialises (as calicoctl's do), and on an initialised datastore that should cost
// one read, not a create per record. Any error means "try the creates".
func (c *Client) initialized(ctx context.Context, writes []initWrite) bool {
	cmps := make([]clientv3.Cmp, len(writes))
	for i, w := range writes {
		cmps[i] = clientv3.Compare(clientv3.Version(w.key), ">", 0)
	}
	resp, err := c.etcd.Txn(ctx).If(cmps...).Commit()
	return err == nil && resp.Succeeded
}
