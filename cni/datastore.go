package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/types"
	"go.uber.org/zap"
)

// dialTimeout bounds how long a CNI call waits for etcd before failing with a clear error;
// runtimes retry, a hung plugin blocks the container.
const dialTimeout = 5 * time.Second

// storeConfig maps the conf's etcd fields onto store.Config. Conf fields win over Calico's
// ETCD_* environment variables, as in Calico (which copies the conf into the environment).
func (c *NetConf) storeConfig(log *zap.Logger) store.Config {
	cfg := store.ConfigFromEnv()
	switch {
	case c.EtcdEndpoints != "":
		cfg.Endpoints = store.SplitEndpoints(c.EtcdEndpoints)
	case c.EtcdAuthority != "":
		scheme := c.EtcdScheme
		if scheme == "" {
			scheme = "http"
		}
		cfg.Endpoints = []string{scheme + "://" + c.EtcdAuthority}
	}
	if c.EtcdCACertFile != "" {
		cfg.CACertFile = c.EtcdCACertFile
	}
	if c.EtcdCertFile != "" {
		cfg.CertFile, cfg.KeyFile = c.EtcdCertFile, c.EtcdKeyFile
	}
	cfg.DialTimeout = dialTimeout
	cfg.Logger = log
	return cfg
}

func connect(ctx context.Context, c *NetConf, log *zap.Logger) (*store.Client, error) {
	cfg := c.storeConfig(log)
	if len(cfg.Endpoints) == 0 {
		return nil, errNoEndpoints()
	}
	sc, err := store.Connect(ctx, cfg)
	if err != nil {
		return nil, newError(types.ErrTryAgainLater, err.Error(),
			"check that etcd is running and reachable at "+strings.Join(cfg.Endpoints, ","))
	}
	return sc, nil
}

// Resource documents. The plugin builds and reads WorkloadEndpoint, Profile, Node and
// ClusterInformation through their Calico JSON and the kinds registered in package api, so it
// depends on the stored shape (calico-etcd-dump.txt), not on Go field names.

type objMeta struct {
	Name              string            `json:"name,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	CreationTimestamp string            `json:"creationTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
}

// toResource converts a document into the registered resource of that kind.
func toResource(kind string, doc any) (api.Resource, error) {
	k, ok := api.LookupKind(kind)
	if !ok {
		return nil, fmt.Errorf("resource kind %s is not registered in package api", kind)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	r := k.NewResource()
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("building %s: %w", kind, err)
	}
	return r, nil
}

// fromResource fills doc from a stored resource.
func fromResource(r api.Resource, doc any) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, doc)
}

// getDoc reads one resource into doc; found is false when it does not exist.
func getDoc(ctx context.Context, sc *store.Client, kind, namespace, name string, doc any) (found bool, err error) {
	r, err := sc.Get(ctx, kind, namespace, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, fromResource(r, doc)
}

type clusterInfoDoc struct {
	Spec struct {
		DatastoreReady *bool `json:"datastoreReady,omitempty"`
	} `json:"spec"`
}

// checkReady refuses to work on a datastore that is not marked ready, as Calico does: an
// operator sets datastoreReady=false during upgrades and restores to stop all changes.
func checkReady(ctx context.Context, sc *store.Client) error {
	var ci clusterInfoDoc
	found, err := getDoc(ctx, sc, "ClusterInformation", "", "default", &ci)
	if err != nil {
		return wrapErr(ErrDatastore, fmt.Errorf("reading clusterinformations/default: %w", err), "")
	}
	return readyVerdict(found, ci)
}

// readyVerdict is checkReady's answer for what was read.
func readyVerdict(found bool, ci clusterInfoDoc) error {
	if !found {
		return newError(types.ErrPluginNotAvailable, "the datastore is not initialised: clusterinformations/default is missing",
			"write any resource with brindle apply/create (or calicoctl), or start the node agent once: either initialises the datastore")
	}
	if ci.Spec.DatastoreReady == nil || !*ci.Spec.DatastoreReady {
		return newError(types.ErrPluginNotAvailable, "the datastore is currently not ready to process requests (clusterinformations/default spec.datastoreReady is not true)",
			"set spec.datastoreReady to true in clusterinformations/default when maintenance is over")
	}
	return nil
}

type nodeDoc struct {
	Status struct {
		PodCIDRs []string `json:"podCIDRs,omitempty"`
	} `json:"status"`
}

// nodePodCIDRs reads the Node resource's status.podCIDRs (host-local's "usePodCidr").
func nodePodCIDRs(ctx context.Context, sc *store.Client, node string) ([]string, error) {
	var n nodeDoc
	found, err := getDoc(ctx, sc, "Node", "", node, &n)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("node %q does not exist in the datastore", node)
	}
	return n.Status.PodCIDRs, nil
}
