package cni

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/logging"
	"github.com/containernetworking/cni/pkg/types"
)

// NetConf is the plugin's network configuration: the CNI standard fields plus Calico's
// (calico-model.md §3), so that an existing calico conflist works unchanged.
type NetConf struct {
	CNIVersion    string          `json:"cniVersion,omitempty"`
	Name          string          `json:"name"`
	Type          string          `json:"type"`
	Capabilities  map[string]bool `json:"capabilities,omitempty"`
	IPAM          IPAMConf        `json:"ipam"`
	DNS           types.DNS       `json:"dns,omitempty"`
	RawPrevResult json.RawMessage `json:"prevResult,omitempty"`
	RuntimeConfig json.RawMessage `json:"runtimeConfig,omitempty"`
	Args          json.RawMessage `json:"args,omitempty"` // read for args.cni.labels (labels.go)

	ValidAttachments []types.GCAttachment `json:"cni.dev/valid-attachments,omitempty"`

	Mode                 string    `json:"mode,omitempty"`
	MTU                  int       `json:"mtu,omitempty"`
	NumQueues            int       `json:"num_queues,omitempty"`
	Nodename             string    `json:"nodename,omitempty"`
	NodenameFile         string    `json:"nodename_file,omitempty"`
	NodenameFileOptional bool      `json:"nodename_file_optional,omitempty"`
	Hostname             string    `json:"hostname,omitempty"` // deprecated Calico spelling of nodename
	DatastoreType        string    `json:"datastore_type,omitempty"`
	EtcdEndpoints        string    `json:"etcd_endpoints,omitempty"`
	EtcdDiscoverySrv     string    `json:"etcd_discovery_srv,omitempty"`
	EtcdScheme           string    `json:"etcd_scheme,omitempty"`
	EtcdAuthority        string    `json:"etcd_authority,omitempty"` // deprecated host:port
	EtcdKeyFile          string    `json:"etcd_key_file,omitempty"`
	EtcdCertFile         string    `json:"etcd_cert_file,omitempty"`
	EtcdCACertFile       string    `json:"etcd_ca_cert_file,omitempty"`
	LogLevel             string    `json:"log_level,omitempty"`
	LogFilePath          string    `json:"log_file_path,omitempty"`
	StateDir             string    `json:"state_dir,omitempty"`
	Policy               *Policy   `json:"policy,omitempty"`
	Kubernetes           *RawBlock `json:"kubernetes,omitempty"`
	ContainerSettings    struct {
		AllowIPForwarding bool `json:"allow_ip_forwarding,omitempty"`
	} `json:"container_settings,omitempty"`
}

// Policy is Calico's `policy` block; only its type matters without a Kubernetes API.
type Policy struct {
	Type string `json:"type,omitempty"`
}

// RawBlock is a JSON object kept as is (the `kubernetes` block: only its presence matters).
type RawBlock = json.RawMessage

// kubernetes reports whether the conf is one of a Kubernetes cluster: Calico's manifests
// always carry a `kubernetes` block (kubeconfig) and `policy.type: k8s` there. Only then do
// K8S_POD_NAMESPACE and K8S_POD_NAME make an endpoint a pod (Kubernetes naming of endpoint
// and veth). Calico decides by the presence of those arguments alone, which sends podman
// (which passes K8S_POD_NAME without being Kubernetes) down the pod path (cni-plugin#989).
func (c *NetConf) kubernetes() bool {
	return c.Kubernetes != nil || c.Policy != nil && c.Policy.Type == "k8s"
}

// IPAMConf is the `ipam` block. Fields other than type are Calico's; the whole block is kept
// raw as well because a delegated plugin (host-local, ...) must receive it unchanged.
type IPAMConf struct {
	Type       string     `json:"type"`
	Subnet     string     `json:"subnet,omitempty"`
	IPv4Pools  []string   `json:"ipv4_pools,omitempty"`
	IPv6Pools  []string   `json:"ipv6_pools,omitempty"`
	AssignIPv4 *flexBool  `json:"assign_ipv4,omitempty"`
	AssignIPv6 *flexBool  `json:"assign_ipv6,omitempty"`
	Ranges     [][]rangeT `json:"ranges,omitempty"`
}

type rangeT struct {
	Subnet string `json:"subnet"`
}

// flexBool accepts Calico's "true"/"false" strings and plain JSON booleans.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	switch strings.ToLower(s) {
	case "true":
		*b = true
	case "false":
		*b = false
	default:
		return fmt.Errorf(`must be "true" or "false", got %s`, data)
	}
	return nil
}

// ownIPAM reports whether the IPAM type is brindle's own allocator, which runs in-process.
func (c *NetConf) ownIPAM() bool {
	return c.IPAM.Type == "calico-ipam" || c.IPAM.Type == "brindle-ipam"
}

// families says which address families the own IPAM assigns: v4 unless assign_ipv4 is
// "false", v6 only if assign_ipv6 is "true" (Calico's defaults).
func (c *NetConf) families() (v4, v6 bool) {
	v4 = c.IPAM.AssignIPv4 == nil || bool(*c.IPAM.AssignIPv4)
	v6 = c.IPAM.AssignIPv6 != nil && bool(*c.IPAM.AssignIPv6)
	return v4, v6
}

// parseConf decodes and validates stdin. Every problem names the JSON field.
func parseConf(data []byte) (*NetConf, error) {
	c := &NetConf{}
	if err := json.Unmarshal(data, c); err != nil {
		return nil, newError(types.ErrDecodingFailure, fmt.Sprintf("network configuration is not valid JSON for this plugin: %v", err),
			"check the conflist with a JSON validator; field types follow Calico's calico.conf")
	}
	var errs []string
	bad := func(field, format string, args ...any) { errs = append(errs, field+": "+fmt.Sprintf(format, args...)) }
	if c.Name == "" {
		bad("name", "is required")
	}
	switch c.DatastoreType {
	case "", "etcdv3":
	case "kubernetes":
		bad("datastore_type", `"kubernetes" is not supported: brindle keeps all state in etcd; set "etcdv3" and etcd_endpoints`)
	default:
		bad("datastore_type", "%q is not supported; the only datastore is \"etcdv3\"", c.DatastoreType)
	}
	if c.MTU < 0 || (c.MTU > 0 && c.MTU < 68) || c.MTU > 65535 {
		bad("mtu", "must be 0 (automatic) or between 68 and 65535, got %d", c.MTU)
	}
	if c.IPAM.Type == "" {
		bad("ipam.type", `is required (e.g. "calico-ipam" or "host-local")`)
	}
	if strings.ContainsAny(c.IPAM.Type, "/\\") || c.IPAM.Type == "." || c.IPAM.Type == ".." {
		bad("ipam.type", "%q must be a plugin name, not a path", c.IPAM.Type)
	}
	if c.ownIPAM() {
		if v4, v6 := c.families(); !v4 && !v6 {
			bad("ipam", "assign_ipv4 and assign_ipv6 are both false: nothing to assign")
		}
	}
	if c.EtcdCertFile != "" && c.EtcdKeyFile == "" || c.EtcdCertFile == "" && c.EtcdKeyFile != "" {
		bad("etcd_cert_file", "etcd_cert_file and etcd_key_file must be given together")
	}
	if _, err := logging.ParseLevel(c.LogLevel); err != nil {
		bad("log_level", "%v", err)
	}
	if c.NumQueues < 0 {
		bad("num_queues", "must not be negative, got %d", c.NumQueues)
	}
	if len(errs) > 0 {
		return nil, newError(types.ErrInvalidNetworkConfig, "invalid network configuration: "+strings.Join(errs, "; "),
			"fix the named fields in the CNI network configuration")
	}
	return c, nil
}
