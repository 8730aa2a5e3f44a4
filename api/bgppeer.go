package api

import (
	"net/netip"
	"strings"
)

// BGPPeer is an explicit BGP peering: to an address (peerIP) or to the nodes a selector picks.
type BGPPeer struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       BGPPeerSpec `json:"spec"`
}

// BGPPeerSpec mirrors Calico's v3 BGPPeerSpec.
type BGPPeerSpec struct {
	Node                     string       `json:"node,omitempty"`
	NodeSelector             string       `json:"nodeSelector,omitempty"`
	PeerIP                   string       `json:"peerIP,omitempty"`
	ASNumber                 ASNumber     `json:"asNumber,omitempty"`
	PeerSelector             string       `json:"peerSelector,omitempty"`
	KeepOriginalNextHop      bool         `json:"keepOriginalNextHop,omitempty"`
	NextHopMode              string       `json:"nextHopMode,omitempty"`
	Password                 *BGPPassword `json:"password,omitempty"`
	SourceAddress            string       `json:"sourceAddress,omitempty"`
	FailureDetectionMode     string       `json:"failureDetectionMode,omitempty"`
	RestartMode              string       `json:"restartMode,omitempty"`
	MaxRestartTime           *Duration    `json:"maxRestartTime,omitempty"`
	BIRDGatewayMode          string       `json:"birdGatewayMode,omitempty"`
	NumAllowedLocalASNumbers *int32       `json:"numAllowedLocalASNumbers,omitempty"`
	TTLSecurity              *uint8       `json:"ttlSecurity,omitempty"`
	ReachableBy              string       `json:"reachableBy,omitempty"`
	Filters                  []string     `json:"filters,omitempty"`
	LocalWorkloadSelector    string       `json:"localWorkloadSelector,omitempty"`
	LocalASNumber            *ASNumber    `json:"localASNumber,omitempty"`
	ReversePeering           string       `json:"reversePeering,omitempty"`
}

// BGPPassword names where a BGP password comes from.
type BGPPassword struct {
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`
}

// SecretKeySelector is Kubernetes' reference to one key of a secret.
type SecretKeySelector struct {
	Name     string `json:"name,omitempty"`
	Key      string `json:"key"`
	Optional *bool  `json:"optional,omitempty"`
}

// sourceAddress values.
const (
	SourceAddressUseNodeIP = "UseNodeIP"
	SourceAddressNone      = "None"
)

// Validate checks the peer's addressing and that exclusive fields are not combined.
func (p *BGPPeer) Validate() error {
	var e Errs
	checkMeta(&e, &p.ObjectMeta, false)
	s := &p.Spec
	if s.Node != "" {
		CheckName(&e, "spec.node", s.Node)
		if s.NodeSelector != "" {
			e.Add("spec.nodeSelector", s.NodeSelector, "cannot be combined with spec.node (%q)", s.Node)
		}
	}
	CheckSelector(&e, "spec.nodeSelector", s.NodeSelector)
	CheckSelector(&e, "spec.peerSelector", s.PeerSelector)
	CheckSelector(&e, "spec.localWorkloadSelector", s.LocalWorkloadSelector)
	if s.PeerIP != "" {
		if _, _, err := ParsePeerIP(s.PeerIP); err != nil {
			e.Add("spec.peerIP", s.PeerIP, "%v", err)
		}
		if s.PeerSelector != "" {
			e.Add("spec.peerSelector", s.PeerSelector, "cannot be combined with spec.peerIP (%q)", s.PeerIP)
		}
		if s.ASNumber == 0 {
			e.Add("spec.asNumber", nil, "is required with spec.peerIP")
		}
	}
	if s.PeerSelector != "" && s.ASNumber != 0 {
		e.Add("spec.asNumber", s.ASNumber, "must be empty with spec.peerSelector: the AS comes from each selected node")
	}
	if s.LocalWorkloadSelector != "" {
		if s.ASNumber == 0 {
			e.Add("spec.asNumber", nil, "is required with spec.localWorkloadSelector")
		}
		if s.PeerIP != "" {
			e.Add("spec.peerIP", s.PeerIP, "cannot be combined with spec.localWorkloadSelector")
		}
		if s.PeerSelector != "" {
			e.Add("spec.peerSelector", s.PeerSelector, "cannot be combined with spec.localWorkloadSelector")
		}
	}
	if s.KeepOriginalNextHop && s.NextHopMode != "" {
		e.Add("spec.keepOriginalNextHop", true, "is deprecated and cannot be combined with spec.nextHopMode")
	}
	if s.PeerIP == "" && s.PeerSelector == "" && s.LocalWorkloadSelector == "" {
		e.Add("spec.peerIP", nil, "either spec.peerIP or spec.peerSelector is required")
	}
	CheckASNumber(&e, "spec.localASNumber", s.LocalASNumber)
	CheckOneOf(&e, "spec.sourceAddress", s.SourceAddress, true, SourceAddressUseNodeIP, SourceAddressNone)
	CheckOneOf(&e, "spec.nextHopMode", s.NextHopMode, true, "Auto", "Self", "Keep")
	CheckOneOf(&e, "spec.failureDetectionMode", s.FailureDetectionMode, true, "None", "BFDIfDirectlyConnected")
	CheckOneOf(&e, "spec.restartMode", s.RestartMode, true, "GracefulRestart", "LongLivedGracefulRestart")
	CheckOneOf(&e, "spec.reversePeering", s.ReversePeering, true, "Auto", "Manual")
	CheckOneOf(&e, "spec.birdGatewayMode", s.BIRDGatewayMode, true, "Recursive", "DirectIfDirectlyConnected")
	if s.NumAllowedLocalASNumbers != nil && (*s.NumAllowedLocalASNumbers < 0 || *s.NumAllowedLocalASNumbers > 10) {
		e.Add("spec.numAllowedLocalASNumbers", *s.NumAllowedLocalASNumbers, "must be 0-10")
	}
	if s.ReachableBy != "" && CheckIP(&e, "spec.reachableBy", s.ReachableBy, 0) {
		if peer, _, err := ParsePeerIP(s.PeerIP); s.PeerIP == "" {
			e.Add("spec.reachableBy", s.ReachableBy, "needs spec.peerIP")
		} else if err == nil && peer.Is4() != netip.MustParseAddr(s.ReachableBy).Is4() {
			e.Add("spec.reachableBy", s.ReachableBy, "address family does not match spec.peerIP")
		}
	}
	if s.MaxRestartTime != nil && s.MaxRestartTime.Duration < 0 {
		e.Add("spec.maxRestartTime", s.MaxRestartTime.String(), "must not be negative")
	}
	for i, f := range s.Filters {
		CheckName(&e, "spec.filters["+itoa(i)+"]", f)
	}
	if pw := s.Password; pw != nil && pw.SecretKeyRef != nil && pw.SecretKeyRef.Key == "" {
		e.Add("spec.password.secretKeyRef.key", nil, "is required")
	}
	return e.For(p)
}

// ParsePeerIP splits "10.0.0.1", "10.0.0.1:1179", "fd00::1" or "[fd00::1]:1179" into the
// address and the port (0 when none was given).
func ParsePeerIP(s string) (netip.Addr, uint16, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a, 0, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Addr().Zone() != "" {
		return netip.Addr{}, 0, errorf("must be an IP address, IPv4:port or [IPv6]:port")
	}
	if ap.Addr().Is6() && !strings.HasPrefix(s, "[") {
		return netip.Addr{}, 0, errorf("an IPv6 address with a port must be written [IPv6]:port")
	}
	if ap.Port() == 0 {
		return netip.Addr{}, 0, errorf("port must be 1-65535")
	}
	return ap.Addr(), ap.Port(), nil
}

// PeerIPString formats an address and optional port as BGPPeer.peerIP does.
func PeerIPString(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}
