package api

import (
	"strconv"
	"strings"
)

// BGPConfiguration holds cluster-wide BGP settings ("default") or one node's ("node.<name>").
type BGPConfiguration struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       BGPConfigurationSpec `json:"spec"`
}

// BGPConfigurationSpec mirrors Calico's v3 BGPConfigurationSpec.
type BGPConfigurationSpec struct {
	LogSeverityScreen        string                `json:"logSeverityScreen,omitempty"`
	NodeToNodeMeshEnabled    *bool                 `json:"nodeToNodeMeshEnabled,omitempty"`
	ASNumber                 *ASNumber             `json:"asNumber,omitempty"`
	ServiceLoadBalancerIPs   []ServiceIPBlock      `json:"serviceLoadBalancerIPs,omitempty"`
	ServiceExternalIPs       []ServiceIPBlock      `json:"serviceExternalIPs,omitempty"`
	ServiceClusterIPs        []ServiceIPBlock      `json:"serviceClusterIPs,omitempty"`
	Communities              []Community           `json:"communities,omitempty"`
	PrefixAdvertisements     []PrefixAdvertisement `json:"prefixAdvertisements,omitempty"`
	ListenPort               uint16                `json:"listenPort,omitempty"`
	NodeMeshPassword         *BGPPassword          `json:"nodeMeshPassword,omitempty"`
	NodeMeshMaxRestartTime   *Duration             `json:"nodeMeshMaxRestartTime,omitempty"`
	BindMode                 string                `json:"bindMode,omitempty"`
	IgnoredInterfaces        []string              `json:"ignoredInterfaces,omitempty"`
	LocalWorkloadPeeringIPV4 string                `json:"localWorkloadPeeringIPV4,omitempty"`
	LocalWorkloadPeeringIPV6 string                `json:"localWorkloadPeeringIPV6,omitempty"`
	ProgramClusterRoutes     string                `json:"programClusterRoutes,omitempty"`
	Extensions               map[string]string     `json:"extensions,omitempty"`
}

// ServiceIPBlock is one advertised service CIDR.
type ServiceIPBlock struct {
	CIDR string `json:"cidr,omitempty"`
}

// Community names a BGP community value ("aa:nn" or large "aa:nn:mm").
type Community struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// PrefixAdvertisement attaches communities to a prefix.
type PrefixAdvertisement struct {
	CIDR        string   `json:"cidr,omitempty"`
	Communities []string `json:"communities,omitempty"`
}

// Well-known values.
const (
	DefaultASNumber ASNumber = 64512
	BindModeNone             = "None"
	BindModeNodeIP           = "NodeIP"
	// NodeConfigPrefix starts per-node configuration names ("node.<nodename>").
	NodeConfigPrefix = "node."
)

// Default turns the node-to-node mesh on for the "default" configuration when unset, as
// Calico does; per-node configurations inherit it instead.
func (c *BGPConfiguration) Default() {
	if c.Name == "default" && c.Spec.NodeToNodeMeshEnabled == nil {
		c.Spec.NodeToNodeMeshEnabled = Ptr(true)
	}
}

// MeshEnabled reports the effective mesh setting of a default configuration (nil config: true).
func (c *BGPConfiguration) MeshEnabled() bool {
	return c == nil || c.Spec.NodeToNodeMeshEnabled == nil || *c.Spec.NodeToNodeMeshEnabled
}

// Validate checks ranges and that cluster-wide fields are not set on a per-node configuration.
func (c *BGPConfiguration) Validate() error {
	var e Errs
	checkMeta(&e, &c.ObjectMeta, false)
	s := &c.Spec
	checkConfigName(&e, c.Name)
	CheckOneOf(&e, "spec.logSeverityScreen", s.LogSeverityScreen, true, "Trace", "Debug", "Info", "Warning", "Error", "Fatal")
	CheckASNumber(&e, "spec.asNumber", s.ASNumber)
	CheckOneOf(&e, "spec.bindMode", s.BindMode, true, BindModeNone, BindModeNodeIP)
	CheckOneOf(&e, "spec.programClusterRoutes", s.ProgramClusterRoutes, true, "Enabled", "Disabled")
	if strings.HasPrefix(c.Name, NodeConfigPrefix) {
		globalOnly := map[string]bool{
			"spec.nodeToNodeMeshEnabled":  s.NodeToNodeMeshEnabled != nil,
			"spec.asNumber":               s.ASNumber != nil,
			"spec.serviceLoadBalancerIPs": len(s.ServiceLoadBalancerIPs) > 0,
			"spec.serviceExternalIPs":     len(s.ServiceExternalIPs) > 0,
			"spec.serviceClusterIPs":      len(s.ServiceClusterIPs) > 0,
			"spec.nodeMeshPassword":       s.NodeMeshPassword != nil,
			"spec.nodeMeshMaxRestartTime": s.NodeMeshMaxRestartTime != nil,
		}
		for _, path := range sortedTrue(globalOnly) {
			e.Add(path, nil, "may only be set in the \"default\" BGPConfiguration, not a per-node one")
		}
	}
	for _, list := range []struct {
		name   string
		blocks []ServiceIPBlock
	}{{"serviceLoadBalancerIPs", s.ServiceLoadBalancerIPs}, {"serviceExternalIPs", s.ServiceExternalIPs}, {"serviceClusterIPs", s.ServiceClusterIPs}} {
		for i, b := range list.blocks {
			if b.CIDR != "" {
				CheckNet(&e, "spec."+list.name+"["+itoa(i)+"].cidr", b.CIDR)
			}
		}
	}
	names := map[string]bool{}
	for i, cm := range s.Communities {
		p := "spec.communities[" + itoa(i) + "]"
		CheckName(&e, p+".name", cm.Name)
		names[cm.Name] = true
		if !validCommunity(cm.Value) {
			e.Add(p+".value", cm.Value, "must be a community aa:nn (16-bit numbers) or a large community aa:nn:mm (32-bit numbers)")
		}
	}
	for i, pa := range s.PrefixAdvertisements {
		p := "spec.prefixAdvertisements[" + itoa(i) + "]"
		if pa.CIDR == "" {
			e.Add(p+".cidr", nil, "is required")
		} else {
			CheckNet(&e, p+".cidr", pa.CIDR)
		}
		if len(pa.Communities) == 0 {
			e.Add(p+".communities", nil, "is required")
		}
		for j, cm := range pa.Communities {
			if !names[cm] && !validCommunity(cm) {
				e.Add(p+".communities["+itoa(j)+"]", cm, "must name an entry of spec.communities or be a community value aa:nn or aa:nn:mm")
			}
		}
	}
	if len(s.Communities) > 0 && len(s.PrefixAdvertisements) == 0 {
		e.Add("spec.communities", nil, "are defined but no spec.prefixAdvertisements use them")
	}
	if s.NodeToNodeMeshEnabled != nil && !*s.NodeToNodeMeshEnabled {
		if s.NodeMeshPassword != nil {
			e.Add("spec.nodeMeshPassword", nil, "cannot be set while spec.nodeToNodeMeshEnabled is false")
		}
		if s.NodeMeshMaxRestartTime != nil {
			e.Add("spec.nodeMeshMaxRestartTime", nil, "cannot be set while spec.nodeToNodeMeshEnabled is false")
		}
	}
	for i, n := range s.IgnoredInterfaces {
		if n == "*" || !ignoredIface.MatchString(n) {
			e.Add("spec.ignoredInterfaces["+itoa(i)+"]", n, "must be an interface name or pattern of 1-15 letters, digits, '_', '.', '*' or '-' (not \"*\" alone)")
		}
	}
	if s.LocalWorkloadPeeringIPV4 != "" {
		CheckIP(&e, "spec.localWorkloadPeeringIPV4", s.LocalWorkloadPeeringIPV4, 4)
	}
	if s.LocalWorkloadPeeringIPV6 != "" {
		CheckIP(&e, "spec.localWorkloadPeeringIPV6", s.LocalWorkloadPeeringIPV6, 6)
	}
	return e.For(c)
}

// checkConfigName enforces the two shapes of configuration names: "default" or "node.<node>".
// Other names are accepted too (Calico stores them) but per-node ones must name a valid node.
func checkConfigName(e *Errs, name string) {
	if node, ok := strings.CutPrefix(name, NodeConfigPrefix); ok {
		CheckName(e, "metadata.name", node)
	}
}

var ignoredIface = lazyRE(`^[a-zA-Z0-9_.*-]{1,15}$`)

func validCommunity(v string) bool {
	parts := strings.Split(v, ":")
	bits := 16
	switch len(parts) {
	case 2:
	case 3:
		bits = 32
	default:
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, bits); err != nil {
			return false
		}
	}
	return true
}
