package api

import (
	"net/netip"
	"strings"
)

// WorkloadEndpoint is one workload interface (a container's eth0) with its addresses.
type WorkloadEndpoint struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       WorkloadEndpointSpec `json:"spec"`
}

// WorkloadEndpointSpec mirrors libcalico-go's v3 WorkloadEndpointSpec (calico-model.md §1.2).
type WorkloadEndpointSpec struct {
	Orchestrator               string                 `json:"orchestrator,omitempty"`
	Workload                   string                 `json:"workload,omitempty"`
	Node                       string                 `json:"node,omitempty"`
	ContainerID                string                 `json:"containerID,omitempty"`
	Pod                        string                 `json:"pod,omitempty"`
	Endpoint                   string                 `json:"endpoint,omitempty"`
	ServiceAccountName         string                 `json:"serviceAccountName,omitempty"`
	IPNetworks                 []string               `json:"ipNetworks,omitempty"`
	IPNATs                     []IPNAT                `json:"ipNATs,omitempty"`
	IPv4Gateway                string                 `json:"ipv4Gateway,omitempty"`
	IPv6Gateway                string                 `json:"ipv6Gateway,omitempty"`
	Profiles                   []string               `json:"profiles,omitempty"`
	InterfaceName              string                 `json:"interfaceName,omitempty"`
	MAC                        string                 `json:"mac,omitempty"`
	Ports                      []WorkloadEndpointPort `json:"ports,omitempty"`
	AllowSpoofedSourcePrefixes []string               `json:"allowSpoofedSourcePrefixes,omitempty"`
	QoSControls                *QoSControls           `json:"qosControls,omitempty"`
}

// QoSControls limits a workload's bandwidth, packet rate and connections (Calico's
// workloadendpoint.go); brindle stores them but does not enforce them.
type QoSControls struct {
	IngressBandwidth      int64 `json:"ingressBandwidth,omitempty"`
	IngressBurst          int64 `json:"ingressBurst,omitempty"`
	IngressPeakrate       int64 `json:"ingressPeakrate,omitempty"`
	IngressMinburst       int64 `json:"ingressMinburst,omitempty"`
	EgressBandwidth       int64 `json:"egressBandwidth,omitempty"`
	EgressBurst           int64 `json:"egressBurst,omitempty"`
	EgressPeakrate        int64 `json:"egressPeakrate,omitempty"`
	EgressMinburst        int64 `json:"egressMinburst,omitempty"`
	IngressPacketRate     int64 `json:"ingressPacketRate,omitempty"`
	IngressPacketBurst    int64 `json:"ingressPacketBurst,omitempty"`
	EgressPacketRate      int64 `json:"egressPacketRate,omitempty"`
	EgressPacketBurst     int64 `json:"egressPacketBurst,omitempty"`
	IngressMaxConnections int64 `json:"ingressMaxConnections,omitempty"`
	EgressMaxConnections  int64 `json:"egressMaxConnections,omitempty"`
}

// WorkloadEndpointPort is a named or mapped port of the workload.
type WorkloadEndpointPort struct {
	Name     string   `json:"name"`
	Protocol Protocol `json:"protocol"`
	Port     uint16   `json:"port"`
	HostPort uint16   `json:"hostPort"`
	HostIP   string   `json:"hostIP"`
}

// IPNAT is a 1:1 NAT of an external address onto one of the endpoint's addresses.
type IPNAT struct {
	InternalIP string `json:"internalIP"`
	ExternalIP string `json:"externalIP"`
	Source     string `json:"source"`
}

// HostEndpoint is a host interface (or all of them, "*") that policy applies to.
type HostEndpoint struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       HostEndpointSpec `json:"spec"`
}

// HostEndpointSpec mirrors Calico's v3 HostEndpointSpec.
type HostEndpointSpec struct {
	Node          string         `json:"node,omitempty"`
	InterfaceName string         `json:"interfaceName,omitempty"`
	ExpectedIPs   []string       `json:"expectedIPs,omitempty"`
	Profiles      []string       `json:"profiles,omitempty"`
	Ports         []EndpointPort `json:"ports,omitempty"`
}

// EndpointPort is a named port of a host endpoint.
type EndpointPort struct {
	Name     string   `json:"name"`
	Protocol Protocol `json:"protocol"`
	Port     uint16   `json:"port"`
}

// WorkloadEndpointName builds Calico's endpoint name from its identifiers, doubling every
// '-' inside a segment so the name splits back unambiguously (libcalico-go names package):
// k8s uses the pod, cni the container ID, others the workload name.
func WorkloadEndpointName(node, orchestrator, workload, endpoint string) string {
	esc := func(s string) string { return strings.ReplaceAll(s, "-", "--") }
	if orchestrator == "libnetwork" {
		workload = "libnetwork"
	}
	return esc(node) + "-" + esc(orchestrator) + "-" + esc(workload) + "-" + esc(endpoint)
}

// Labels Calico keeps on every WorkloadEndpoint; policy selects namespaces through the first.
const (
	LabelNamespace    = "projectcalico.org/namespace"
	LabelOrchestrator = "projectcalico.org/orchestrator"
)

// Default sets the namespace and orchestrator labels from metadata.namespace and
// spec.orchestrator on every write, overriding what the caller gave, as Calico's clientv3
// does (libcalico-go/lib/clientv3/workloadendpoint.go updateLabelsForStorage): a `label` or
// `apply` cannot take an endpoint out of its namespace's policies.
func (w *WorkloadEndpoint) Default() {
	l := make(Labels, len(w.Labels)+2)
	for k, v := range w.Labels {
		l[k] = v
	}
	l[LabelNamespace] = w.Namespace
	l[LabelOrchestrator] = w.Spec.Orchestrator
	w.Labels = l
}

// Validate checks addresses, identifiers and ports.
func (w *WorkloadEndpoint) Validate() error {
	var e Errs
	checkMeta(&e, &w.ObjectMeta, true)
	s := &w.Spec
	if s.Node == "" {
		e.Add("spec.node", nil, "is required")
	} else {
		CheckName(&e, "spec.node", s.Node)
	}
	if s.InterfaceName == "" {
		e.Add("spec.interfaceName", nil, "is required")
	} else {
		CheckIfaceName(&e, "spec.interfaceName", s.InterfaceName)
	}
	own := map[netip.Addr]bool{}
	for i, n := range s.IPNetworks {
		if a, ok := checkSingleAddress(&e, "spec.ipNetworks["+itoa(i)+"]", n); ok {
			own[a] = true
		}
	}
	for i, nat := range s.IPNATs {
		p := "spec.ipNATs[" + itoa(i) + "]"
		if CheckIP(&e, p+".internalIP", nat.InternalIP, 0) && !own[netip.MustParseAddr(nat.InternalIP)] {
			e.Add(p+".internalIP", nat.InternalIP, "must be one of the endpoint's spec.ipNetworks")
		}
		if CheckIP(&e, p+".externalIP", nat.ExternalIP, 0) && CheckIP(&Errs{}, "", nat.InternalIP, 0) &&
			netip.MustParseAddr(nat.ExternalIP).Is4() != netip.MustParseAddr(nat.InternalIP).Is4() {
			e.Add(p+".externalIP", nat.ExternalIP, "must be of the same IP version as internalIP")
		}
	}
	if s.IPv4Gateway != "" {
		CheckIP(&e, "spec.ipv4Gateway", s.IPv4Gateway, 4)
	}
	if s.IPv6Gateway != "" {
		CheckIP(&e, "spec.ipv6Gateway", s.IPv6Gateway, 6)
	}
	if s.MAC != "" {
		CheckMAC(&e, "spec.mac", s.MAC)
	}
	for i, pr := range s.Profiles {
		CheckName(&e, "spec.profiles["+itoa(i)+"]", pr)
	}
	for i, pt := range s.Ports {
		p := "spec.ports[" + itoa(i) + "]"
		checkEndpointPort(&e, p, pt.Name, pt.Protocol, pt.Port)
		if pt.Name == "" && pt.HostPort == 0 {
			e.Add(p+".name", nil, "is required unless hostPort is set")
		}
		if pt.HostIP != "" {
			CheckNet(&e, p+".hostIP", pt.HostIP)
		}
	}
	if s.ContainerID != "" && !containerID.MatchString(s.ContainerID) {
		e.Add("spec.containerID", s.ContainerID, "must be letters, digits and '-', starting and ending with a letter or digit")
	}
	for _, f := range []struct{ path, v string }{{"spec.orchestrator", s.Orchestrator}, {"spec.workload", s.Workload},
		{"spec.pod", s.Pod}, {"spec.endpoint", s.Endpoint}, {"spec.serviceAccountName", s.ServiceAccountName}} {
		if f.v != "" {
			CheckName(&e, f.path, f.v)
		}
	}
	for i, n := range s.AllowSpoofedSourcePrefixes {
		CheckNet(&e, "spec.allowSpoofedSourcePrefixes["+itoa(i)+"]", n)
	}
	return e.For(w)
}

// Validate checks the node, interface or expected IPs, and ports.
func (h *HostEndpoint) Validate() error {
	var e Errs
	checkMeta(&e, &h.ObjectMeta, false)
	s := &h.Spec
	if s.Node == "" {
		e.Add("spec.node", nil, "is required")
	} else {
		CheckName(&e, "spec.node", s.Node)
	}
	if s.InterfaceName == "" && len(s.ExpectedIPs) == 0 {
		e.Add("spec.interfaceName", nil, "either spec.interfaceName or spec.expectedIPs is required")
	}
	if s.InterfaceName != "" && s.InterfaceName != "*" {
		CheckIfaceName(&e, "spec.interfaceName", s.InterfaceName)
	}
	for i, ip := range s.ExpectedIPs {
		CheckIP(&e, "spec.expectedIPs["+itoa(i)+"]", ip, 0)
	}
	for i, pr := range s.Profiles {
		CheckName(&e, "spec.profiles["+itoa(i)+"]", pr)
	}
	for i, pt := range s.Ports {
		checkEndpointPort(&e, "spec.ports["+itoa(i)+"]", pt.Name, pt.Protocol, pt.Port)
		if pt.Name == "" {
			e.Add("spec.ports["+itoa(i)+"].name", nil, "is required")
		}
	}
	return e.For(h)
}

var containerID = lazyRE(`^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`)

// checkSingleAddress accepts "10.0.0.1", "10.0.0.1/32" or "fd00::1/128": Calico allows only
// one address per entry.
func checkSingleAddress(e *Errs, path, s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		e.Add(path, s, "must be an address, e.g. 10.0.0.5/32")
		return netip.Addr{}, false
	}
	if p.Bits() != p.Addr().BitLen() {
		e.Add(path, s, "must be a single address (/%d)", p.Addr().BitLen())
		return netip.Addr{}, false
	}
	return p.Addr(), true
}

func checkEndpointPort(e *Errs, p, name string, proto Protocol, port uint16) {
	if name != "" {
		CheckPortName(e, p+".name", name)
	}
	if n, ok := proto.Number(); !ok || n != 6 && n != 17 && n != 132 {
		e.Add(p+".protocol", proto.String(), "must be TCP, UDP or SCTP")
	}
	if port == 0 {
		e.Add(p+".port", 0, "must be 1-65535")
	}
}
