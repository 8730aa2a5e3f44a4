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
	writes := []struct {
		key   string
		value []byte
	}{
		{ResourcePrefix + "clusterinformations/default", ci},
		{IPAMConfigKey, []byte(`{"auto_allocate_blocks":true}`)},
	}
	for _, t := range DefaultTiers {
		v, err := record("Tier", t.Name, tierSpec{Order: t.Order, DefaultAction: t.DefaultAction})
		if err != nil {
			return err
		}
		writes = append(writes, struct {
			key   string
			value []byte
		}{ResourcePrefix + "tiers/" + t.Name, v})
	}
	for _, w := range writes {
		if _, err := c.CreateKV(ctx, w.key, w.value); err != nil && !errors.Is(err, ErrAlreadyExists) {
			return fmt.Errorf("initialising datastore: %w", err)
		}
	}
	return nil
}
