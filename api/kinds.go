package api

// kinds is the table of every resource kind brindle knows, in calicoctl's order. Plurals
// are the etcd key segments (calico-model.md §1.2); aliases are what calicoctl accepts.
var kinds = []*KindInfo{
	{Kind: "BGPConfiguration", Plural: "bgpconfigurations", Aliases: []string{"bgpconfiguration", "bgpconfig", "bgpconfigs", "bgpc"}, New: func() Resource { return &BGPConfiguration{} }},
	{Kind: "BGPFilter", Plural: "bgpfilters", Aliases: []string{"bgpfilter", "bgpf", "bgpfs"}, New: func() Resource { return &BGPFilter{} }},
	{Kind: "BGPPeer", Plural: "bgppeers", Aliases: []string{"bgppeer", "bgpp", "bgpps", "bp", "bps"}, New: func() Resource { return &BGPPeer{} }},
	{Kind: "CalicoNodeStatus", Plural: "caliconodestatuses", Aliases: []string{"caliconodestatus", "cns", "cnss"}, New: func() Resource { return &CalicoNodeStatus{} }},
	{Kind: "ClusterInformation", Plural: "clusterinformations", Aliases: []string{"clusterinformation", "clusterinfo", "clusterinfos"}, New: func() Resource { return &ClusterInformation{} }},
	{Kind: "FelixConfiguration", Plural: "felixconfigurations", Aliases: []string{"felixconfiguration", "felixconfig", "felixconfigs", "fc", "fcs"}, New: func() Resource { return &FelixConfiguration{} }},
	{Kind: "GlobalNetworkPolicy", Plural: "globalnetworkpolicies", Aliases: []string{"globalnetworkpolicy", "gnp", "gnps"}, New: func() Resource { return &GlobalNetworkPolicy{} }},
	{Kind: "GlobalNetworkSet", Plural: "globalnetworksets", Aliases: []string{"globalnetworkset", "gns"}, New: func() Resource { return &GlobalNetworkSet{} }},
	{Kind: "HostEndpoint", Plural: "hostendpoints", Aliases: []string{"hostendpoint", "hep", "heps"}, New: func() Resource { return &HostEndpoint{} }},
	{Kind: "IPAMConfiguration", Plural: "ipamconfigs", Aliases: []string{"ipamconfig", "ipamconfiguration", "ipamconfigurations"}, New: func() Resource { return &IPAMConfiguration{} }},
	{Kind: "IPPool", Plural: "ippools", Aliases: []string{"ippool", "ipp", "ipps", "pool", "pools"}, New: func() Resource { return &IPPool{} }},
	{Kind: "IPReservation", Plural: "ipreservations", Aliases: []string{"ipreservation", "ipr", "iprs"}, New: func() Resource { return &IPReservation{} }},
	{Kind: "KubeControllersConfiguration", Plural: "kubecontrollersconfigurations", Aliases: []string{"kubecontrollersconfiguration", "kcc", "kccs"}, New: func() Resource { return &KubeControllersConfiguration{} }},
	{Kind: "NetworkPolicy", Plural: "networkpolicies", Namespaced: true, Aliases: []string{"networkpolicy", "policy", "policies", "np", "nps", "pol", "pols"}, New: func() Resource { return &NetworkPolicy{} }},
	{Kind: "NetworkSet", Plural: "networksets", Namespaced: true, Aliases: []string{"networkset", "netset", "netsets"}, New: func() Resource { return &NetworkSet{} }},
	{Kind: "Node", Plural: "nodes", Aliases: []string{"node", "no", "nos"}, New: func() Resource { return &Node{} }},
	{Kind: "Profile", Plural: "profiles", Aliases: []string{"profile", "pro", "pros"}, New: func() Resource { return &Profile{} }},
	{Kind: "Tier", Plural: "tiers", Aliases: []string{"tier"}, New: func() Resource { return &Tier{} }},
	{Kind: "WorkloadEndpoint", Plural: "workloadendpoints", Namespaced: true, Aliases: []string{"workloadendpoint", "wep", "weps"}, New: func() Resource { return &WorkloadEndpoint{} }},
}
