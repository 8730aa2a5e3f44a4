package cni

import (
	"fmt"
	"net/netip"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

// buildResult is Calico's result shape (calico-cni-observed.md "Result JSON"): only the host
// veth in interfaces, without sandbox, so the bandwidth plugin finds it as the host side;
// /32 and /128 addresses without interface index or gateway, which portmap takes as the
// container's addresses; no routes.
func buildResult(hostVeth string, ips []netip.Prefix, dns types.DNS) *current.Result {
	r := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{{Name: hostVeth}},
		DNS:        dns,
	}
	for _, p := range ips {
		r.IPs = append(r.IPs, &current.IPConfig{Address: *prefixToIPNet(p)})
	}
	return r
}

// prevResult decodes the prevResult a runtime passes to CHECK (and to chained plugins).
func prevResult(c *NetConf) (*current.Result, error) {
	if len(c.RawPrevResult) == 0 {
		return nil, newError(types.ErrInvalidNetworkConfig, "prevResult: required for CHECK but missing", "")
	}
	ver := c.CNIVersion
	if ver == "" {
		ver = "0.2.0"
	}
	raw, err := version.NewResult(ver, c.RawPrevResult)
	if err != nil {
		return nil, newError(types.ErrDecodingFailure, fmt.Sprintf("prevResult: %v", err), "")
	}
	res, err := current.NewResultFromResult(raw)
	if err != nil {
		return nil, newError(types.ErrDecodingFailure, fmt.Sprintf("prevResult: %v", err), "")
	}
	return res, nil
}

// ipsOf returns the addresses of a result as prefixes.
func ipsOf(r *current.Result) []netip.Prefix {
	var out []netip.Prefix
	for _, ip := range r.IPs {
		a, ok := netip.AddrFromSlice(ip.Address.IP)
		if !ok {
			continue
		}
		ones, _ := ip.Address.Mask.Size()
		out = append(out, netip.PrefixFrom(a.Unmap(), ones))
	}
	return out
}
