package api

import "net/netip"

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
	// IPIP and NATOutgoingV1 are Calico's API v1 leftovers: accepted by the decoder, as
	// Calico's type has them, but rejected by validation (Calico's mustBeNil/mustBeFalse).
	IPIP          *IPIPConfiguration `json:"ipip,omitempty"`
	NATOutgoingV1 bool               `json:"nat-outgoing,omitempty"`
}

// IPIPConfiguration is the API v1 form of ipipMode.
type IPIPConfiguration struct {
	Enabled bool   `json:"enabled,omitempty"`
	Mode    string `json:"mode,omitempty"`
}

// Encapsulation modes of ipipMode and vxlanMode.
const (
	EncapNever       = "Never"
	EncapAlways      = "Always"
	EncapCrossSubnet = "CrossSubnet"
)

// Allowed uses and assignment modes of a pool.
const (
	UseWorkload          = "Workload"
	UseTunnel            = "Tunnel"
	UseLoadBalancer      = "LoadBalancer"
	AssignmentAutomatic  = "Automatic"
	AssignmentManual     = "Manual"
	DefaultBlockSizeIPv4 = 26
	DefaultBlockSizeIPv6 = 122
)

var (
	linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")
	linkLocal6 = netip.MustParsePrefix("fe80::/10")
)

// Default fills Calico's pool defaults (calico-model.md §2).
func (p *IPPool) Default() {
	s := &p.Spec
	if s.BlockSize == 0 {
		s.BlockSize = DefaultBlockSizeIPv4
		if pr, err := netip.ParsePrefix(s.CIDR); err == nil && pr.Addr().Is6() {
			s.BlockSize = DefaultBlockSizeIPv6
		}
	}
	if s.IPIPMode == "" {
		s.IPIPMode = EncapNever
	}
	if s.VXLANMode == "" {
		s.VXLANMode = EncapNever
	}
	if s.NodeSelector == "" {
		s.NodeSelector = "all()"
	}
	if len(s.AllowedUses) == 0 {
		s.AllowedUses = []string{UseWorkload, UseTunnel}
	}
	if s.AssignmentMode == "" {
		s.AssignmentMode = AssignmentAutomatic
	}
}

// Validate checks one pool on its own; overlap with other pools is CheckPoolOverlap.
func (p *IPPool) Validate() error {
	var e Errs
	checkMeta(&e, &p.ObjectMeta, false)
	s := &p.Spec
	var pr netip.Prefix
	var cidrOK bool
	if s.CIDR == "" {
		e.Add("spec.cidr", nil, "is required")
	} else {
		pr, cidrOK = CheckCIDR(&e, "spec.cidr", s.CIDR, true)
	}
	if cidrOK {
		ll := linkLocal4
		if pr.Addr().Is6() {
			ll = linkLocal6
		}
		if pr.Overlaps(ll) {
			e.Add("spec.cidr", s.CIDR, "overlaps the link-local range %s", ll)
		}
	}
	checkBlockSize(&e, s, pr, cidrOK)
	CheckOneOf(&e, "spec.ipipMode", s.IPIPMode, true, EncapNever, EncapAlways, EncapCrossSubnet)
	CheckOneOf(&e, "spec.vxlanMode", s.VXLANMode, true, EncapNever, EncapAlways, EncapCrossSubnet)
	ipip := s.IPIPMode != "" && s.IPIPMode != EncapNever
	vxlan := s.VXLANMode != "" && s.VXLANMode != EncapNever
	if ipip && vxlan {
		e.Add("spec.vxlanMode", s.VXLANMode, "IPIP and VXLAN cannot both be enabled on one pool (ipipMode is %s)", s.IPIPMode)
	}
	if ipip && cidrOK && pr.Addr().Is6() {
		e.Add("spec.ipipMode", s.IPIPMode, "IPIP is not supported on an IPv6 pool")
	}
	seen := map[string]bool{}
	for i, u := range s.AllowedUses {
		path := "spec.allowedUses[" + itoa(i) + "]"
		if CheckOneOf(&e, path, u, false, UseWorkload, UseTunnel, UseLoadBalancer) && seen[u] {
			e.Add(path, u, "is listed twice")
		}
		seen[u] = true
	}
	checkLoadBalancerPool(&e, s, seen)
	CheckSelector(&e, "spec.nodeSelector", s.NodeSelector)
	CheckOneOf(&e, "spec.assignmentMode", s.AssignmentMode, true, AssignmentAutomatic, AssignmentManual)
	if s.IPIP != nil {
		e.Add("spec.ipip", nil, "is Calico's API v1 form and must not be set: use spec.ipipMode")
	}
	if s.NATOutgoingV1 {
		e.Add("spec.nat-outgoing", true, "is Calico's API v1 form and must not be set: use spec.natOutgoing")
	}
	return e.For(p)
}

// checkLoadBalancerPool: a pool for Kubernetes LoadBalancer services is used for nothing
// else, is not tunnelled, and is announced from every node (Calico's validateIPPoolSpec).
func checkLoadBalancerPool(e *Errs, s *IPPoolSpec, uses map[string]bool) {
	if !uses[UseLoadBalancer] {
		return
	}
	if uses[UseWorkload] || uses[UseTunnel] {
		e.Add("spec.allowedUses", nil, "LoadBalancer cannot be combined with Workload or Tunnel")
	}
	if s.IPIPMode != "" && s.IPIPMode != EncapNever || s.VXLANMode != "" && s.VXLANMode != EncapNever {
		e.Add("spec.allowedUses", nil, "a LoadBalancer pool cannot use IPIP or VXLAN")
	}
	if s.DisableBGPExport {
		e.Add("spec.disableBGPExport", true, "a LoadBalancer pool's addresses must be announced over BGP")
	}
	if s.NodeSelector != "" && s.NodeSelector != "all()" {
		e.Add("spec.nodeSelector", s.NodeSelector, "a LoadBalancer pool must select all() nodes")
	}
}

func checkBlockSize(e *Errs, s *IPPoolSpec, pr netip.Prefix, cidrOK bool) {
	if s.BlockSize == 0 {
		return // unset: Default fills it
	}
	v6 := cidrOK && pr.Addr().Is6()
	lo, hi := 20, 32
	if v6 {
		lo, hi = 116, 128
	}
	if s.BlockSize < lo || s.BlockSize > hi {
		fam := "IPv4"
		if v6 {
			fam = "IPv6"
		}
		e.Add("spec.blockSize", s.BlockSize, "must be %d-%d for an %s pool", lo, hi, fam)
		return
	}
	// Calico checks the size only of enabled pools: a disabled one hands out nothing.
	if cidrOK && pr.Bits() > s.BlockSize && !s.Disabled {
		e.Add("spec.cidr", s.CIDR, "pool is smaller than one block: prefix length must be at most the blockSize %d", s.BlockSize)
	}
}
