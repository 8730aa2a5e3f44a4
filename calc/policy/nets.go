package policy

import (
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/api"
)

func splitPorts(ps []api.Port) (ranges []PortRange, named []string) {
	for _, p := range ps {
		if p.PortName != "" {
			named = append(named, p.PortName)
		} else {
			ranges = append(ranges, PortRange{p.MinPort, p.MaxPort})
		}
	}
	return
}

func parseNets(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		p, err := parseNet(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parseNet reads a CIDR or a single address; the result is masked (Calico normalises nets).
func parseNet(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	return p.Masked(), nil
}

func filterNets(nets []netip.Prefix, fam uint8, negated bool) ([]netip.Prefix, bool) {
	if len(nets) == 0 {
		return nil, true
	}
	var out []netip.Prefix
	for _, p := range nets {
		if p.Addr().Is4() != (fam == 4) {
			continue
		}
		if negated && p.Bits() == 0 {
			// "not anything" can never match; felix drops the rule for this family.
			return nil, false
		}
		out = append(out, p)
	}
	return out, len(out) > 0
}
