package api

// FelixConfiguration holds dataplane settings: "default" for the cluster, "node.<name>" per node.
type FelixConfiguration struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       FelixConfigurationSpec `json:"spec"`
}

// FelixConfigurationSpec holds the Calico fields brindle reads plus the common ones it accepts
// so that configurations exported from Calico apply unchanged. Pointers mean "unset: use the
// default" (the defaults are listed in calico-model.md §4 and FelixDefaults).
type FelixConfigurationSpec struct {
	UseInternalDataplaneDriver         *bool            `json:"useInternalDataplaneDriver,omitempty"`
	DataplaneDriver                    string           `json:"dataplaneDriver,omitempty"`
	DataplaneWatchdogTimeout           *Duration        `json:"dataplaneWatchdogTimeout,omitempty"`
	IPv6Support                        *bool            `json:"ipv6Support,omitempty"`
	RouteRefreshInterval               *Duration        `json:"routeRefreshInterval,omitempty"`
	InterfaceRefreshInterval           *Duration        `json:"interfaceRefreshInterval,omitempty"`
	IptablesRefreshInterval            *Duration        `json:"iptablesRefreshInterval,omitempty"`
	IptablesPostWriteCheckInterval     *Duration        `json:"iptablesPostWriteCheckInterval,omitempty"`
	IptablesLockFilePath               string           `json:"iptablesLockFilePath,omitempty"`
	IptablesLockTimeout                *Duration        `json:"iptablesLockTimeout,omitempty"`
	IptablesLockProbeInterval          *Duration        `json:"iptablesLockProbeInterval,omitempty"`
	FeatureDetectOverride              string           `json:"featureDetectOverride,omitempty"`
	FeatureGates                       string           `json:"featureGates,omitempty"`
	IpsetsRefreshInterval              *Duration        `json:"ipsetsRefreshInterval,omitempty"`
	MaxIpsetSize                       *int             `json:"maxIpsetSize,omitempty"`
	IptablesBackend                    string           `json:"iptablesBackend,omitempty"`
	XDPRefreshInterval                 *Duration        `json:"xdpRefreshInterval,omitempty"`
	NetlinkTimeout                     *Duration        `json:"netlinkTimeout,omitempty"`
	MetadataAddr                       string           `json:"metadataAddr,omitempty"`
	MetadataPort                       *int             `json:"metadataPort,omitempty"`
	OpenstackRegion                    string           `json:"openstackRegion,omitempty"`
	InterfacePrefix                    string           `json:"interfacePrefix,omitempty"`
	InterfaceExclude                   string           `json:"interfaceExclude,omitempty"`
	ChainInsertMode                    string           `json:"chainInsertMode,omitempty"`
	DefaultEndpointToHostAction        string           `json:"defaultEndpointToHostAction,omitempty"`
	IptablesFilterAllowAction          string           `json:"iptablesFilterAllowAction,omitempty"`
	IptablesMangleAllowAction          string           `json:"iptablesMangleAllowAction,omitempty"`
	IptablesFilterDenyAction           string           `json:"iptablesFilterDenyAction,omitempty"`
	LogPrefix                          string           `json:"logPrefix,omitempty"`
	LogDropActionOverride              string           `json:"logDropActionOverride,omitempty"`
	LogFilePath                        string           `json:"logFilePath,omitempty"`
	LogSeverityFile                    string           `json:"logSeverityFile,omitempty"`
	LogSeverityScreen                  string           `json:"logSeverityScreen,omitempty"`
	LogSeveritySys                     string           `json:"logSeveritySys,omitempty"`
	LogDebugFilenameRegex              string           `json:"logDebugFilenameRegex,omitempty"`
	IPIPEnabled                        *bool            `json:"ipipEnabled,omitempty"`
	IPIPMTU                            *int             `json:"ipipMTU,omitempty"`
	VXLANEnabled                       *bool            `json:"vxlanEnabled,omitempty"`
	VXLANMTU                           *int             `json:"vxlanMTU,omitempty"`
	VXLANMTUV6                         *int             `json:"vxlanMTUV6,omitempty"`
	VXLANPort                          *int             `json:"vxlanPort,omitempty"`
	VXLANVNI                           *int             `json:"vxlanVNI,omitempty"`
	AllowVXLANPacketsFromWorkloads     *bool            `json:"allowVXLANPacketsFromWorkloads,omitempty"`
	AllowIPIPPacketsFromWorkloads      *bool            `json:"allowIPIPPacketsFromWorkloads,omitempty"`
	AWSSrcDstCheck                     string           `json:"awsSrcDstCheck,omitempty"`
	ServiceLoopPrevention              string           `json:"serviceLoopPrevention,omitempty"`
	WorkloadSourceSpoofing             string           `json:"workloadSourceSpoofing,omitempty"`
	ReportingInterval                  *Duration        `json:"reportingInterval,omitempty"`
	ReportingTTL                       *Duration        `json:"reportingTTL,omitempty"`
	EndpointReportingEnabled           *bool            `json:"endpointReportingEnabled,omitempty"`
	EndpointReportingDelay             *Duration        `json:"endpointReportingDelay,omitempty"`
	EndpointStatusPathPrefix           string           `json:"endpointStatusPathPrefix,omitempty"`
	IptablesMarkMask                   *uint32          `json:"iptablesMarkMask,omitempty"`
	DisableConntrackInvalidCheck       *bool            `json:"disableConntrackInvalidCheck,omitempty"`
	HealthEnabled                      *bool            `json:"healthEnabled,omitempty"`
	HealthHost                         string           `json:"healthHost,omitempty"`
	HealthPort                         *int             `json:"healthPort,omitempty"`
	HealthTimeoutOverrides             []HealthTimeout  `json:"healthTimeoutOverrides,omitempty"`
	PrometheusMetricsEnabled           *bool            `json:"prometheusMetricsEnabled,omitempty"`
	PrometheusMetricsHost              string           `json:"prometheusMetricsHost,omitempty"`
	PrometheusMetricsPort              *int             `json:"prometheusMetricsPort,omitempty"`
	PrometheusGoMetricsEnabled         *bool            `json:"prometheusGoMetricsEnabled,omitempty"`
	PrometheusProcessMetricsEnabled    *bool            `json:"prometheusProcessMetricsEnabled,omitempty"`
	PrometheusWireGuardMetricsEnabled  *bool            `json:"prometheusWireGuardMetricsEnabled,omitempty"`
	FailsafeInboundHostPorts           *[]ProtoPort     `json:"failsafeInboundHostPorts,omitempty"`
	FailsafeOutboundHostPorts          *[]ProtoPort     `json:"failsafeOutboundHostPorts,omitempty"`
	KubeNodePortRanges                 *[]Port          `json:"kubeNodePortRanges,omitempty"`
	PolicySyncPathPrefix               string           `json:"policySyncPathPrefix,omitempty"`
	UsageReportingEnabled              *bool            `json:"usageReportingEnabled,omitempty"`
	UsageReportingInitialDelay         *Duration        `json:"usageReportingInitialDelay,omitempty"`
	UsageReportingInterval             *Duration        `json:"usageReportingInterval,omitempty"`
	NATPortRange                       *Port            `json:"natPortRange,omitempty"`
	NATOutgoingAddress                 string           `json:"natOutgoingAddress,omitempty"`
	NATOutgoingExclusions              string           `json:"natOutgoingExclusions,omitempty"`
	DeviceRouteSourceAddress           string           `json:"deviceRouteSourceAddress,omitempty"`
	DeviceRouteSourceAddressIPv6       string           `json:"deviceRouteSourceAddressIPv6,omitempty"`
	DeviceRouteProtocol                *int             `json:"deviceRouteProtocol,omitempty"`
	RemoveExternalRoutes               *bool            `json:"removeExternalRoutes,omitempty"`
	ProgramClusterRoutes               string           `json:"programClusterRoutes,omitempty"`
	ExternalNodesCIDRList              *[]string        `json:"externalNodesCIDRList,omitempty"`
	DebugMemoryProfilePath             string           `json:"debugMemoryProfilePath,omitempty"`
	DebugDisableLogDropping            *bool            `json:"debugDisableLogDropping,omitempty"`
	DebugSimulateCalcGraphHangAfter    *Duration        `json:"debugSimulateCalcGraphHangAfter,omitempty"`
	DebugSimulateDataplaneHangAfter    *Duration        `json:"debugSimulateDataplaneHangAfter,omitempty"`
	IptablesNATOutgoingInterfaceFilter string           `json:"iptablesNATOutgoingInterfaceFilter,omitempty"`
	SidecarAccelerationEnabled         *bool            `json:"sidecarAccelerationEnabled,omitempty"`
	XDPEnabled                         *bool            `json:"xdpEnabled,omitempty"`
	GenericXDPEnabled                  *bool            `json:"genericXDPEnabled,omitempty"`
	NFTablesMode                       string           `json:"nftablesMode,omitempty"`
	BPFEnabled                         *bool            `json:"bpfEnabled,omitempty"`
	RouteSource                        string           `json:"routeSource,omitempty"`
	RouteTableRange                    *RouteTableRange `json:"routeTableRange,omitempty"`
	RouteSyncDisabled                  *bool            `json:"routeSyncDisabled,omitempty"`
	WireguardEnabled                   *bool            `json:"wireguardEnabled,omitempty"`
	WireguardEnabledV6                 *bool            `json:"wireguardEnabledV6,omitempty"`
	WireguardListeningPort             *int             `json:"wireguardListeningPort,omitempty"`
	WireguardListeningPortV6           *int             `json:"wireguardListeningPortV6,omitempty"`
	WireguardRoutingRulePriority       *int             `json:"wireguardRoutingRulePriority,omitempty"`
	WireguardInterfaceName             string           `json:"wireguardInterfaceName,omitempty"`
	WireguardInterfaceNameV6           string           `json:"wireguardInterfaceNameV6,omitempty"`
	WireguardMTU                       *int             `json:"wireguardMTU,omitempty"`
	WireguardMTUV6                     *int             `json:"wireguardMTUV6,omitempty"`
	WireguardHostEncryptionEnabled     *bool            `json:"wireguardHostEncryptionEnabled,omitempty"`
	WireguardPersistentKeepAlive       *Duration        `json:"wireguardPersistentKeepAlive,omitempty"`
	MTUIfacePattern                    string           `json:"mtuIfacePattern,omitempty"`
	FloatingIPs                        string           `json:"floatingIPs,omitempty"`
	IPForwarding                       string           `json:"ipForwarding,omitempty"`
}

// ProtoPort is one failsafe port: protocol, port and optional source/destination net.
type ProtoPort struct {
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
	Net      string `json:"net,omitempty"`
}

// HealthTimeout overrides one health reporter's timeout.
type HealthTimeout struct {
	Name    string   `json:"name"`
	Timeout Duration `json:"timeout"`
}

// RouteTableRange is a range of routing table indices.
type RouteTableRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}
