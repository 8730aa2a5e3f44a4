package api

import "net/netip"

// htoName is what Felix accepts as a health reporter name (validateHealthTimeoutOverride).
var htoName = lazyRE(`^[a-zA-Z0-9_ -]+$`)

// checkFelixStruct carries the cross-field rules of Calico's validateFelixConfigSpec and the
// struct validators of the nested types, on top of the per-field check tags.
func checkFelixStruct(e *Errs, s *FelixConfigurationSpec) {
	checkTags(e, "spec", s)
	if r := s.KubeNodePortRanges; r != nil {
		// iptables' multiport match takes 15 ports; a range uses two.
		if len(*r) > 7 {
			e.Add("spec.kubeNodePortRanges", len(*r), "may list at most 7 port ranges")
		}
		for i, p := range *r {
			if p.PortName != "" {
				e.Add("spec.kubeNodePortRanges["+itoa(i)+"]", p.PortName, "must be a port or range, not a named port")
			}
		}
	}
	// The region becomes part of a namespace name, "openstack-region-<region>".
	if r := s.OpenstackRegion; r != "" {
		if len(r) > 63-len("openstack-region-") {
			e.Add("spec.openstackRegion", r, "is too long (at most %d characters)", 63-len("openstack-region-"))
		} else {
			CheckLabel(e, "spec.openstackRegion", r)
		}
	}
	if s.RouteTableRange != nil {
		if r := s.RouteTableRange; r.Min < 1 || r.Max < r.Min || r.Max > 250 {
			e.Add("spec.routeTableRange", nil, "must be a range of route table indices within 1..250 (got %d-%d)", r.Min, r.Max)
		}
		if s.RouteTableRanges != nil {
			e.Add("spec.routeTableRange", nil, "cannot be set when spec.routeTableRanges is also set")
		}
	}
	if rs := s.RouteTableRanges; rs != nil {
		total := 0
		for i, r := range *rs {
			p := "spec.routeTableRanges[" + itoa(i) + "]"
			if r.Min > r.Max {
				e.Add(p, nil, "min %d is greater than max %d", r.Min, r.Max)
			}
			if r.Min <= 0 {
				e.Add(p+".min", r.Min, "must be at least 1")
			}
			if int64(r.Max) > 0xffffffff {
				e.Add(p+".max", r.Max, "must be at most 4294967295")
			}
			total += r.Max - r.Min + 1
		}
		if total > 0xffff {
			e.Add("spec.routeTableRanges", total, "target too many tables (at most 65535)")
		}
	}
	for i, h := range s.HealthTimeoutOverrides {
		p := "spec.healthTimeoutOverrides[" + itoa(i) + "]"
		if !htoName.MatchString(h.Name) {
			e.Add(p+".name", h.Name, "must be letters, digits, '_', ' ' or '-'")
		}
		if h.Timeout.Duration < 0 {
			e.Add(p+".timeout", h.Timeout.String(), "must not be negative")
		}
	}
}

// checkExternalNodes: Felix programs these as IPv4 ipset members only.
func checkExternalNodes(e *Errs, list []string) {
	for i, c := range list {
		path := "spec.externalNodesList[" + itoa(i) + "]"
		if !CheckNet(e, path, c) {
			continue
		}
		a, err := netip.ParseAddr(c)
		if err != nil {
			a = netip.MustParsePrefix(c).Addr()
		}
		if !a.Is4() {
			e.Add(path, c, "must be an IPv4 address or network")
		}
	}
}
