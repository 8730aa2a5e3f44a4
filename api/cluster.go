package api

// ClusterInformation is the singleton "default" describing the cluster; the CNI plugin
// refuses to work until datastoreReady is true.
type ClusterInformation struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ClusterInformationSpec `json:"spec"`
}

// ClusterInformationSpec mirrors Calico's v3 ClusterInformationSpec.
type ClusterInformationSpec struct {
	ClusterGUID    string `json:"clusterGUID,omitempty"`
	ClusterType    string `json:"clusterType,omitempty"`
	CalicoVersion  string `json:"calicoVersion,omitempty"`
	DatastoreReady *bool  `json:"datastoreReady,omitempty"`
	Variant        string `json:"variant,omitempty"`
}

var hexGUID = lazyRE(`^[0-9a-f]{32}$`)

// Validate checks the singleton name and the GUID format.
func (c *ClusterInformation) Validate() error {
	var e Errs
	checkMeta(&e, &c.ObjectMeta, false)
	checkSingleton(&e, c.Name)
	if c.Spec.ClusterGUID != "" && !hexGUID.MatchString(c.Spec.ClusterGUID) {
		e.Add("spec.clusterGUID", c.Spec.ClusterGUID, "must be 32 lower-case hex digits")
	}
	return e.For(c)
}

// IPAMConfiguration is the cluster's IPAM settings. In etcd mode Calico does not store it as
// a v3 resource: the store maps it onto /calico/ipam/v2/config (see IPAMConfigValue).
type IPAMConfiguration struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       IPAMConfigurationSpec `json:"spec"`
}

// IPAMConfigurationSpec holds the IPAM settings; autoAllocateBlocks defaults to true.
type IPAMConfigurationSpec struct {
	StrictAffinity     bool  `json:"strictAffinity"`
	MaxBlocksPerHost   int   `json:"maxBlocksPerHost,omitempty"`
	AutoAllocateBlocks *bool `json:"autoAllocateBlocks,omitempty"`
}

// IPAMConfigValue is the JSON at /calico/ipam/v2/config, with libcalico-go's field names.
type IPAMConfigValue struct {
	StrictAffinity     bool `json:"strict_affinity,omitempty"`
	AutoAllocateBlocks bool `json:"auto_allocate_blocks,omitempty"`
	MaxBlocksPerHost   int  `json:"maxBlocksPerHost,omitempty"`
}

// Default turns automatic block allocation on unless it was set.
func (c *IPAMConfiguration) Default() {
	if c.Spec.AutoAllocateBlocks == nil {
		c.Spec.AutoAllocateBlocks = Ptr(true)
	}
}

// Validate enforces libcalico-go's IPAM config rules (calico-model.md §2).
func (c *IPAMConfiguration) Validate() error {
	var e Errs
	checkMeta(&e, &c.ObjectMeta, false)
	checkSingleton(&e, c.Name)
	s := &c.Spec
	if s.MaxBlocksPerHost < 0 {
		e.Add("spec.maxBlocksPerHost", s.MaxBlocksPerHost, "must not be negative (0 means the default limit)")
	}
	if s.AutoAllocateBlocks != nil && !*s.AutoAllocateBlocks && !s.StrictAffinity {
		e.Add("spec.autoAllocateBlocks", false, "cannot be false while strictAffinity is false too: no block could ever be used")
	}
	return e.For(c)
}

// Value converts the resource to the stored IPAM config JSON.
func (c *IPAMConfiguration) Value() IPAMConfigValue {
	return IPAMConfigValue{
		StrictAffinity:     c.Spec.StrictAffinity,
		AutoAllocateBlocks: c.Spec.AutoAllocateBlocks == nil || *c.Spec.AutoAllocateBlocks,
		MaxBlocksPerHost:   c.Spec.MaxBlocksPerHost,
	}
}

// IPAMConfigurationFromValue builds the "default" resource from the stored JSON.
func IPAMConfigurationFromValue(v IPAMConfigValue) *IPAMConfiguration {
	return &IPAMConfiguration{
		TypeMeta:   TypeMeta{Kind: "IPAMConfiguration", APIVersion: Group},
		ObjectMeta: ObjectMeta{Name: "default"},
		Spec: IPAMConfigurationSpec{
			StrictAffinity:     v.StrictAffinity,
			MaxBlocksPerHost:   v.MaxBlocksPerHost,
			AutoAllocateBlocks: Ptr(v.AutoAllocateBlocks),
		},
	}
}

// KubeControllersConfiguration configures kube-controllers. brindle has none, but accepts,
// validates and stores the resource so Calico manifests apply unchanged.
type KubeControllersConfiguration struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       KubeControllersConfigurationSpec    `json:"spec"`
	Status     *KubeControllersConfigurationStatus `json:"status,omitempty"`
}

// KubeControllersConfigurationSpec mirrors Calico's v3 type (kubecontrollersconfig.go).
type KubeControllersConfigurationSpec struct {
	LogSeverityScreen      string             `json:"logSeverityScreen,omitempty"`
	HealthChecks           string             `json:"healthChecks,omitempty"`
	EtcdV3CompactionPeriod *Duration          `json:"etcdV3CompactionPeriod,omitempty"`
	PrometheusMetricsPort  *int               `json:"prometheusMetricsPort,omitempty"`
	Controllers            *ControllersConfig `json:"controllers,omitempty"`
	DebugProfilePort       *int32             `json:"debugProfilePort,omitempty"`
}

// ControllersConfig enables and configures each controller.
type ControllersConfig struct {
	Node             *NodeControllerConfig         `json:"node,omitempty"`
	Policy           *ReconcilerConfig             `json:"policy,omitempty"`
	WorkloadEndpoint *ReconcilerConfig             `json:"workloadEndpoint,omitempty"`
	ServiceAccount   *ReconcilerConfig             `json:"serviceAccount,omitempty"`
	Namespace        *ReconcilerConfig             `json:"namespace,omitempty"`
	LoadBalancer     *LoadBalancerControllerConfig `json:"loadBalancer,omitempty"`
}

// NodeControllerConfig configures the node controller.
type NodeControllerConfig struct {
	ReconcilerPeriod *Duration               `json:"reconcilerPeriod,omitempty"`
	SyncLabels       string                  `json:"syncLabels,omitempty"`
	HostEndpoint     *AutoHostEndpointConfig `json:"hostEndpoint,omitempty"`
	LeakGracePeriod  *Duration               `json:"leakGracePeriod,omitempty"`
}

// AutoHostEndpointConfig configures automatic host endpoints.
type AutoHostEndpointConfig struct {
	AutoCreate                string                 `json:"autoCreate,omitempty"`
	CreateDefaultHostEndpoint string                 `json:"createDefaultHostEndpoint,omitempty"`
	Templates                 []HostEndpointTemplate `json:"templates,omitempty"`
}

// HostEndpointTemplate describes host endpoints created for the nodes a selector picks.
type HostEndpointTemplate struct {
	GenerateName   string   `json:"generateName,omitempty"`
	InterfaceCIDRs []string `json:"interfaceCIDRs,omitempty"`
	Labels         Labels   `json:"labels,omitempty"`
	NodeSelector   string   `json:"nodeSelector,omitempty"`
}

// ReconcilerConfig holds a controller's reconciliation period.
type ReconcilerConfig struct {
	ReconcilerPeriod *Duration `json:"reconcilerPeriod,omitempty"`
}

// LoadBalancerControllerConfig configures the load-balancer IPAM controller.
type LoadBalancerControllerConfig struct {
	AssignIPs string `json:"assignIPs,omitempty"`
}

// KubeControllersConfigurationStatus is written by kube-controllers.
type KubeControllersConfigurationStatus struct {
	RunningConfig   *KubeControllersConfigurationSpec `json:"runningConfig,omitempty"`
	EnvironmentVars map[string]string                 `json:"environmentVars,omitempty"`
}

// Validate checks the singleton name and enumerations.
func (k *KubeControllersConfiguration) Validate() error {
	var e Errs
	checkMeta(&e, &k.ObjectMeta, false)
	checkSingleton(&e, k.Name)
	checkKCCSpec(&e, "spec", &k.Spec)
	if k.Status != nil && k.Status.RunningConfig != nil {
		checkKCCSpec(&e, "status.runningConfig", k.Status.RunningConfig)
	}
	return e.For(k)
}

func checkSingleton(e *Errs, name string) {
	if name != "" && name != "default" {
		e.Add("metadata.name", name, "must be \"default\": this kind is a singleton")
	}
}

// checkKCCSpec follows the validate tags of Calico's kubecontrollersconfig.go.
func checkKCCSpec(e *Errs, p string, s *KubeControllersConfigurationSpec) {
	CheckOneOf(e, p+".logSeverityScreen", s.LogSeverityScreen, true, "Trace", "Debug", "Info", "Warning", "Error", "Fatal")
	CheckOneOf(e, p+".healthChecks", s.HealthChecks, true, "Enabled", "Disabled")
	c := s.Controllers
	if c == nil {
		return
	}
	if n := c.Node; n != nil {
		CheckOneOf(e, p+".controllers.node.syncLabels", n.SyncLabels, true, "Enabled", "Disabled")
		if h := n.HostEndpoint; h != nil {
			hp := p + ".controllers.node.hostEndpoint"
			CheckOneOf(e, hp+".autoCreate", h.AutoCreate, true, "Enabled", "Disabled")
			CheckOneOf(e, hp+".createDefaultHostEndpoint", h.CreateDefaultHostEndpoint, true, "Enabled", "Disabled")
			for i, t := range h.Templates {
				tp := hp + ".templates[" + itoa(i) + "]"
				if t.GenerateName != "" {
					CheckName(e, tp+".generateName", t.GenerateName)
				}
				checkNetList(e, tp+".interfaceCIDRs", t.InterfaceCIDRs)
				CheckLabels(e, tp+".labels", t.Labels)
				CheckSelector(e, tp+".nodeSelector", t.NodeSelector)
			}
		}
	}
	if lb := c.LoadBalancer; lb != nil {
		CheckOneOf(e, p+".controllers.loadBalancer.assignIPs", lb.AssignIPs, true, "AllServices", "RequestedServicesOnly")
	}
}
