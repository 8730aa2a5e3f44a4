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
	FeatureDetectOverride              string           `json:"featureDetectOverride,omitempty" check:"keyValueList"`
	FeatureGates                       string           `json:"featureGates,omitempty" check:"keyValueList"`
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
	LogDebugFilenameRegex              string           `json:"logDebugFilenameRegex,omitempty" check:"regexp"`
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
	PrometheusMetricsHost              string           `json:"prometheusMetricsHost,omitempty" check:"prometheusHost"`
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
	ExternalNodesCIDRList              *[]string        `json:"externalNodesList,omitempty"`
	DebugMemoryProfilePath             string           `json:"debugMemoryProfilePath,omitempty"`
	DebugDisableLogDropping            *bool            `json:"debugDisableLogDropping,omitempty"`
	DebugSimulateCalcGraphHangAfter    *Duration        `json:"debugSimulateCalcGraphHangAfter,omitempty"`
	DebugSimulateDataplaneHangAfter    *Duration        `json:"debugSimulateDataplaneHangAfter,omitempty"`
	IptablesNATOutgoingInterfaceFilter string           `json:"iptablesNATOutgoingInterfaceFilter,omitempty" check:"ifaceFilter"`
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
	WireguardListeningPort             *int             `json:"wireguardListeningPort,omitempty" check:"min=1,max=65535"`
	WireguardListeningPortV6           *int             `json:"wireguardListeningPortV6,omitempty" check:"min=1,max=65535"`
	WireguardRoutingRulePriority       *int             `json:"wireguardRoutingRulePriority,omitempty" check:"min=1,max=32765"`
	WireguardInterfaceName             string           `json:"wireguardInterfaceName,omitempty" check:"iface"`
	WireguardInterfaceNameV6           string           `json:"wireguardInterfaceNameV6,omitempty" check:"iface"`
	WireguardMTU                       *int             `json:"wireguardMTU,omitempty"`
	WireguardMTUV6                     *int             `json:"wireguardMTUV6,omitempty"`
	WireguardHostEncryptionEnabled     *bool            `json:"wireguardHostEncryptionEnabled,omitempty"`
	WireguardPersistentKeepAlive       *Duration        `json:"wireguardKeepAlive,omitempty"`
	MTUIfacePattern                    string           `json:"mtuIfacePattern,omitempty"`
	FloatingIPs                        string           `json:"floatingIPs,omitempty"`
	IPForwarding                       string           `json:"ipForwarding,omitempty"`

	// Fields below complete Calico v3.30's FelixConfigurationSpec. Like most fields above they
	// are validated and stored so Calico's configurations apply unchanged, but brindle does not
	// act on them (UnsupportedFields lists the ones set). The check tags carry the constraints
	// of Calico's validator (checktags.go).
	WireguardThreadingEnabled          *bool                 `json:"wireguardThreadingEnabled,omitempty"`
	LogActionRateLimit                 *string               `json:"logActionRateLimit,omitempty"`
	LogActionRateLimitBurst            *int                  `json:"logActionRateLimitBurst,omitempty"`
	DebugSimulateDataplaneApplyDelay   *Duration             `json:"debugSimulateDataplaneApplyDelay,omitempty"`
	DebugHost                          *string               `json:"debugHost,omitempty"`
	DebugPort                          *int                  `json:"debugPort,omitempty" check:"min=0,max=65535"`
	NftablesRefreshInterval            *Duration             `json:"nftablesRefreshInterval,omitempty"`
	NftablesFilterAllowAction          string                `json:"nftablesFilterAllowAction,omitempty" check:"oneof=Accept Return"`
	NftablesMangleAllowAction          string                `json:"nftablesMangleAllowAction,omitempty" check:"oneof=Accept Return"`
	NftablesFilterDenyAction           string                `json:"nftablesFilterDenyAction,omitempty" check:"oneof=Drop Reject"`
	NftablesMarkMask                   *uint32               `json:"nftablesMarkMask,omitempty"`
	BPFDisableUnprivileged             *bool                 `json:"bpfDisableUnprivileged,omitempty"`
	BPFLogLevel                        string                `json:"bpfLogLevel,omitempty" check:"oneof=Debug Info Off"`
	BPFConntrackLogLevel               string                `json:"bpfConntrackLogLevel,omitempty" check:"oneof=Off Debug"`
	BPFConntrackCleanupMode            string                `json:"bpfConntrackMode,omitempty" check:"oneof=Auto Userspace BPFProgram"`
	BPFConntrackTimeouts               *BPFConntrackTimeouts `json:"bpfConntrackTimeouts,omitempty"`
	BPFLogFilters                      *map[string]string    `json:"bpfLogFilters,omitempty" check:"ifaceKeys"`
	BPFCTLBLogFilter                   string                `json:"bpfCTLBLogFilter,omitempty"`
	BPFDataIfacePattern                string                `json:"bpfDataIfacePattern,omitempty" check:"regexp"`
	BPFL3IfacePattern                  string                `json:"bpfL3IfacePattern,omitempty" check:"regexp"`
	BPFConnectTimeLoadBalancingEnabled *bool                 `json:"bpfConnectTimeLoadBalancingEnabled,omitempty"`
	BPFConnectTimeLoadBalancing        string                `json:"bpfConnectTimeLoadBalancing,omitempty" check:"oneof=TCP Enabled Disabled"`
	BPFHostNetworkedNATWithoutCTLB     string                `json:"bpfHostNetworkedNATWithoutCTLB,omitempty" check:"oneof=Enabled Disabled"`
	BPFExternalServiceMode             string                `json:"bpfExternalServiceMode,omitempty" check:"oneof=Tunnel DSR"`
	BPFDSROptoutCIDRs                  *[]string             `json:"bpfDSROptoutCIDRs,omitempty" check:"nets"`
	BPFExtToServiceConnmark            *int                  `json:"bpfExtToServiceConnmark,omitempty" check:"min=0,max=4294967295"`
	BPFKubeProxyIptablesCleanupEnabled *bool                 `json:"bpfKubeProxyIptablesCleanupEnabled,omitempty"`
	BPFKubeProxyMinSyncPeriod          *Duration             `json:"bpfKubeProxyMinSyncPeriod,omitempty"`
	BPFKubeProxyHealthzPort            *int                  `json:"bpfKubeProxyHealthzPort,omitempty" check:"min=1,max=65535"`
	BPFKubeProxyEndpointSlicesEnabled  *bool                 `json:"bpfKubeProxyEndpointSlicesEnabled,omitempty"`
	BPFPSNATPorts                      *Port                 `json:"bpfPSNATPorts,omitempty"`
	BPFMapSizeNATFrontend              *int                  `json:"bpfMapSizeNATFrontend,omitempty"`
	BPFMapSizeNATBackend               *int                  `json:"bpfMapSizeNATBackend,omitempty"`
	BPFMapSizeNATAffinity              *int                  `json:"bpfMapSizeNATAffinity,omitempty"`
	BPFMapSizeRoute                    *int                  `json:"bpfMapSizeRoute,omitempty"`
	BPFMapSizeConntrack                *int                  `json:"bpfMapSizeConntrack,omitempty"`
	BPFMapSizePerCPUConntrack          *int                  `json:"bpfMapSizePerCpuConntrack,omitempty"`
	BPFMapSizeConntrackScaling         string                `json:"bpfMapSizeConntrackScaling,omitempty"`
	BPFMapSizeConntrackCleanupQueue    *int                  `json:"bpfMapSizeConntrackCleanupQueue,omitempty" check:"min=1"`
	BPFMapSizeIPSets                   *int                  `json:"bpfMapSizeIPSets,omitempty"`
	BPFMapSizeIfState                  *int                  `json:"bpfMapSizeIfState,omitempty"`
	BPFHostConntrackBypass             *bool                 `json:"bpfHostConntrackBypass,omitempty"`
	BPFEnforceRPF                      string                `json:"bpfEnforceRPF,omitempty"`
	BPFPolicyDebugEnabled              *bool                 `json:"bpfPolicyDebugEnabled,omitempty"`
	BPFForceTrackPacketsFromIfaces     *[]string             `json:"bpfForceTrackPacketsFromIfaces,omitempty" check:"ifaceFilters"`
	BPFDisableGROForIfaces             string                `json:"bpfDisableGROForIfaces,omitempty" check:"regexp"`
	BPFExcludeCIDRsFromNAT             *[]string             `json:"bpfExcludeCIDRsFromNAT,omitempty" check:"nets"`
	BPFExportBufferSizeMB              *int                  `json:"bpfExportBufferSizeMB,omitempty"`
	BPFRedirectToPeer                  string                `json:"bpfRedirectToPeer,omitempty"`
	BPFProfiling                       string                `json:"bpfProfiling,omitempty"`
	CgroupV2Path                       string                `json:"cgroupV2Path,omitempty"`
	FlowLogsPolicyEvaluationMode       *string               `json:"flowLogsPolicyEvaluationMode,omitempty"`
	FlowLogsFlushInterval              *Duration             `json:"flowLogsFlushInterval,omitempty"`
	FlowLogsCollectorDebugTrace        *bool                 `json:"flowLogsCollectorDebugTrace,omitempty"`
	FlowLogsGoldmaneServer             *string               `json:"flowLogsGoldmaneServer,omitempty"`
	FlowLogsLocalReporter              *string               `json:"flowLogsLocalReporter,omitempty"`
	RouteTableRanges                   *[]RouteTableRange    `json:"routeTableRanges,omitempty"`
	WindowsManageFirewallRules         string                `json:"windowsManageFirewallRules,omitempty" check:"oneof=Enabled Disabled"`
	GoGCThreshold                      *int                  `json:"goGCThreshold,omitempty" check:"min=-1"`
	GoMemoryLimitMB                    *int                  `json:"goMemoryLimitMB,omitempty" check:"min=-1"`
	GoMaxProcs                         *int                  `json:"goMaxProcs,omitempty" check:"min=-1"`
}

// BPFConntrackTimeouts overrides the eBPF dataplane's conntrack timeouts ("30s" or "Auto").
type BPFConntrackTimeouts struct {
	CreationGracePeriod *string `json:"creationGracePeriod,omitempty" check:"ctTimeout"`
	TCPSynSent          *string `json:"tcpSynSent,omitempty" check:"ctTimeout"`
	TCPEstablished      *string `json:"tcpEstablished,omitempty" check:"ctTimeout"`
	TCPFinsSeen         *string `json:"tcpFinsSeen,omitempty" check:"ctTimeout"`
	TCPResetSeen        *string `json:"tcpResetSeen,omitempty" check:"ctTimeout"`
	UDPTimeout          *string `json:"udpTimeout,omitempty" check:"ctTimeout"`
	GenericTimeout      *string `json:"genericTimeout,omitempty" check:"ctTimeout"`
	ICMPTimeout         *string `json:"icmpTimeout,omitempty" check:"ctTimeout"`
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
