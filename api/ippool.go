package api

// IPPool is a range of addresses that IPAM carves into blocks for workloads and tunnels.
type IPPool struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       IPPoolSpec `json:"spec"`
}

// IPPoolSpec mirrors Calico's v3 IPPoolSpec field names.
type IPPoolSpec struct {
	CIDR             string   `json:"cidr"`
	VXLANMode        string   `json:"vxlanMode,omitempty"`
	IPIPMode         string   `json:"ipipMode,omitempty"`
	NATOutgoing      bool     `json:"natOutgoing,omitempty"`
	Disabled         bool     `json:"disabled,omitempty"`
	DisableBGPExport bool     `json:"disableBGPExport,omitempty"`
	BlockSize        int      `json:"blockSize,omitempty"`
	NodeSelector     string   `json:"nodeSelector,omitempty"`
	AllowedUses      []string `json:"allowedUses,omitempty"`
	AssignmentMode   string   `json:"assignmentMode,omitempty"`
}
