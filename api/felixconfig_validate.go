package api

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

var ifacePrefix = lazyRE(`^[a-zA-Z0-9_-]{1,10}$`)

// FelixDefaults returns Felix's built-in values for the fields brindle uses
// (felix/config/config_params.go, calico-model.md §4).
func FelixDefaults() FelixConfigurationSpec {
	d := func(t time.Duration) *Duration { return &Duration{t} }
	return FelixConfigurationSpec{
		RouteRefreshInterval:        d(90 * time.Second),
		IptablesRefreshInterval:     d(180 * time.Second),
		IpsetsRefreshInterval:       d(90 * time.Second),
		InterfacePrefix:             "cali",
		InterfaceExclude:            "kube-ipvs0",
		ChainInsertMode:             "Insert",
		DefaultEndpointToHostAction: "Drop",
		IptablesFilterAllowAction:   "Accept",
		IptablesFilterDenyAction:    "Drop",
		LogSeverityScreen:           "Info",
		IPIPMTU:                     Ptr(0), // 0: uplink MTU - 20, as Felix since v3.23
		VXLANMTU:                    Ptr(0), // 0: uplink MTU - 50
		VXLANMTUV6:                  Ptr(0), // 0: uplink MTU - 70
		VXLANPort:                   Ptr(4789),
		VXLANVNI:                    Ptr(4096),
		ReportingInterval:           d(30 * time.Second),
		ReportingTTL:                d(90 * time.Second),
		HealthEnabled:               Ptr(false),
		HealthHost:                  "localhost",
		HealthPort:                  Ptr(9099),
		PrometheusMetricsPort:       Ptr(9091),
		DeviceRouteProtocol:         Ptr(3),
		RemoveExternalRoutes:        Ptr(true),
		ServiceLoopPrevention:       "Drop",
		WorkloadSourceSpoofing:      "Disabled",
		MTUIfacePattern:             "^((en|wl|ww|sl|ib)[Pcopsvx].*|(eth|wlan|wwan).*)",
		FailsafeInboundHostPorts: &[]ProtoPort{{"tcp", 22, ""}, {"udp", 68, ""}, {"tcp", 179, ""},
			{"tcp", 2379, ""}, {"tcp", 2380, ""}, {"tcp", 5473, ""}, {"tcp", 6443, ""}, {"tcp", 6666, ""}, {"tcp", 6667, ""}},
		FailsafeOutboundHostPorts: &[]ProtoPort{{"udp", 53, ""}, {"udp", 67, ""}, {"tcp", 179, ""},
			{"tcp", 2379, ""}, {"tcp", 2380, ""}, {"tcp", 5473, ""}, {"tcp", 6443, ""}, {"tcp", 6666, ""}, {"tcp", 6667, ""}},
	}
}

// EffectiveFelixConfig layers Felix's defaults, the "default" configuration and the node's
// "node.<name>" configuration (either may be nil): later layers win field by field, as in Felix.
func EffectiveFelixConfig(global, node *FelixConfiguration) FelixConfigurationSpec {
	out := FelixDefaults()
	for _, layer := range []*FelixConfiguration{global, node} {
		if layer == nil {
			continue
		}
		// Unset fields are omitted from the JSON, so unmarshalling overlays only what is set.
		b, err := json.Marshal(&layer.Spec)
		if err == nil {
			_ = json.Unmarshal(b, &out)
		}
	}
	return out
}

// Validate checks enumerations, ports and addresses.
func (f *FelixConfiguration) Validate() error {
	var e Errs
	checkMeta(&e, &f.ObjectMeta, false)
	checkConfigName(&e, f.Name)
	s := &f.Spec
	for path, v := range map[string]string{
		"spec.logSeverityScreen": s.LogSeverityScreen,
		"spec.logSeverityFile":   s.LogSeverityFile,
		"spec.logSeveritySys":    s.LogSeveritySys,
	} {
		checkOneOfFold(&e, path, v, "Trace", "Debug", "Info", "Warning", "Error", "Fatal", "None")
	}
	checkOneOfFold(&e, "spec.defaultEndpointToHostAction", s.DefaultEndpointToHostAction, "Drop", "Accept", "Return")
	checkOneOfFold(&e, "spec.iptablesFilterAllowAction", s.IptablesFilterAllowAction, "Accept", "Return")
	checkOneOfFold(&e, "spec.iptablesMangleAllowAction", s.IptablesMangleAllowAction, "Accept", "Return")
	checkOneOfFold(&e, "spec.iptablesFilterDenyAction", s.IptablesFilterDenyAction, "Drop", "Reject")
	checkOneOfFold(&e, "spec.chainInsertMode", s.ChainInsertMode, "Insert", "Append")
	checkOneOfFold(&e, "spec.iptablesBackend", s.IptablesBackend, "Legacy", "NFT", "Auto")
	checkOneOfFold(&e, "spec.serviceLoopPrevention", s.ServiceLoopPrevention, "Drop", "Reject", "Disabled")
	checkOneOfFold(&e, "spec.workloadSourceSpoofing", s.WorkloadSourceSpoofing, "Disabled", "Any")
	checkOneOfFold(&e, "spec.routeSource", s.RouteSource, "CalicoIPAM", "WorkloadIPs")
	checkOneOfFold(&e, "spec.nftablesMode", s.NFTablesMode, "Enabled", "Disabled", "Auto")
	checkOneOfFold(&e, "spec.programClusterRoutes", s.ProgramClusterRoutes, "Enabled", "Disabled")
	checkOneOfFold(&e, "spec.floatingIPs", s.FloatingIPs, "Enabled", "Disabled")
	checkOneOfFold(&e, "spec.ipForwarding", s.IPForwarding, "Enabled", "Disabled")
	checkOneOfFold(&e, "spec.awsSrcDstCheck", s.AWSSrcDstCheck, "DoNothing", "Enable", "Disable")
	for path, v := range map[string]*int{
		"spec.vxlanPort": s.VXLANPort, "spec.healthPort": s.HealthPort, "spec.metadataPort": s.MetadataPort,
		"spec.prometheusMetricsPort": s.PrometheusMetricsPort,
	} {
		if v != nil && (*v < 0 || *v > 65535) {
			e.Add(path, *v, "must be a port 0-65535")
		}
	}
	for path, v := range map[string]*int{
		"spec.ipipMTU": s.IPIPMTU, "spec.vxlanMTU": s.VXLANMTU, "spec.vxlanMTUV6": s.VXLANMTUV6,
		"spec.wireguardMTU": s.WireguardMTU, "spec.wireguardMTUV6": s.WireguardMTUV6, "spec.maxIpsetSize": s.MaxIpsetSize,
	} {
		if v != nil && *v < 0 {
			e.Add(path, *v, "must not be negative (0 means auto-detect)")
		}
	}
	if s.VXLANVNI != nil && (*s.VXLANVNI < 0 || *s.VXLANVNI > 1<<24-1) {
		e.Add("spec.vxlanVNI", *s.VXLANVNI, "must be a VXLAN network identifier 0-16777215")
	}
	if s.DeviceRouteProtocol != nil && (*s.DeviceRouteProtocol < 0 || *s.DeviceRouteProtocol > 255) {
		e.Add("spec.deviceRouteProtocol", *s.DeviceRouteProtocol, "must be a route protocol number 0-255")
	}
	for path, v := range map[string]*Duration{
		"spec.routeRefreshInterval": s.RouteRefreshInterval, "spec.reportingInterval": s.ReportingInterval,
		"spec.reportingTTL": s.ReportingTTL, "spec.iptablesRefreshInterval": s.IptablesRefreshInterval,
		"spec.ipsetsRefreshInterval": s.IpsetsRefreshInterval, "spec.interfaceRefreshInterval": s.InterfaceRefreshInterval,
	} {
		if v != nil && v.Duration < 0 {
			e.Add(path, v.String(), "must not be negative")
		}
	}
	if s.NATOutgoingAddress != "" {
		CheckIP(&e, "spec.natOutgoingAddress", s.NATOutgoingAddress, 4)
	}
	if s.DeviceRouteSourceAddress != "" {
		CheckIP(&e, "spec.deviceRouteSourceAddress", s.DeviceRouteSourceAddress, 4)
	}
	if s.DeviceRouteSourceAddressIPv6 != "" {
		CheckIP(&e, "spec.deviceRouteSourceAddressIPv6", s.DeviceRouteSourceAddressIPv6, 6)
	}
	if s.MTUIfacePattern != "" {
		if _, err := regexp.Compile(s.MTUIfacePattern); err != nil {
			e.Add("spec.mtuIfacePattern", s.MTUIfacePattern, "must be a regular expression: %v", err)
		}
	}
	if s.InterfacePrefix != "" {
		for _, p := range strings.Split(s.InterfacePrefix, ",") {
			if !ifacePrefix.MatchString(p) {
				e.Add("spec.interfacePrefix", s.InterfacePrefix, "must be a comma-separated list of interface name prefixes")
				break
			}
		}
	}
	for _, pp := range []struct {
		path  string
		ports *[]ProtoPort
	}{{"spec.failsafeInboundHostPorts", s.FailsafeInboundHostPorts}, {"spec.failsafeOutboundHostPorts", s.FailsafeOutboundHostPorts}} {
		if pp.ports == nil {
			continue
		}
		for i, p := range *pp.ports {
			path := pp.path + "[" + itoa(i) + "]"
			checkOneOfFold(&e, path+".protocol", p.Protocol, "TCP", "UDP", "SCTP")
			if p.Protocol == "" {
				e.Add(path+".protocol", nil, "is required")
			}
			if p.Net != "" {
				CheckCIDR(&e, path+".net", p.Net, false)
			}
		}
	}
	if s.ExternalNodesCIDRList != nil {
		checkExternalNodes(&e, *s.ExternalNodesCIDRList)
	}
	checkFelixStruct(&e, s)
	sortErrs(e)
	return e.For(f)
}

// checkOneOfFold accepts an optional enumerated value in any letter case: Felix's own config
// parser lower-cases these (FELIX_DEFAULTENDPOINTTOHOSTACTION=ACCEPT works).
func checkOneOfFold(e *Errs, path, v string, allowed ...string) {
	if v == "" {
		return
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return
		}
	}
	e.Add(path, v, "must be one of %s", strings.Join(allowed, ", "))
}
