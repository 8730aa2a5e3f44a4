package ipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
)

// Views of the v3 resources IPAM reads. They are decoded from the resources' JSON rather than
// their Go fields: the JSON is Calico's fixed contract, while the Go types are free to evolve.

type nodeView struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		BGP *struct {
			IPv4IPIPTunnelAddr string `json:"ipv4IPIPTunnelAddr"`
		} `json:"bgp"`
		IPv4VXLANTunnelAddr string `json:"ipv4VXLANTunnelAddr"`
		IPv6VXLANTunnelAddr string `json:"ipv6VXLANTunnelAddr"`
		Wireguard           *struct {
			InterfaceIPv4Address string `json:"interfaceIPv4Address"`
			InterfaceIPv6Address string `json:"interfaceIPv6Address"`
		} `json:"wireguard"`
	} `json:"spec"`
	Status struct {
		WireguardPublicKey   string `json:"wireguardPublicKey"`
		WireguardPublicKeyV6 string `json:"wireguardPublicKeyV6"`
	} `json:"status"`
}

type wepView struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Node        string   `json:"node"`
		ContainerID string   `json:"containerID"`
		Pod         string   `json:"pod"`
		Workload    string   `json:"workload"`
		IPNetworks  []string `json:"ipNetworks"`
	} `json:"spec"`
}

type reservationView struct {
	Spec struct {
		ReservedCIDRs []string `json:"reservedCIDRs"`
	} `json:"spec"`
}

func viewAs(r api.Resource, v any) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// getNode returns the node, or found=false when it does not exist.
func (a *Allocator) getNode(ctx context.Context, name string) (*nodeView, bool, error) {
	r, err := a.c.Get(ctx, "Node", "", name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	n := &nodeView{}
	if err := viewAs(r, n); err != nil {
		return nil, false, fmt.Errorf("node %q: %w", name, err)
	}
	return n, true, nil
}

// nodeNames lists every existing node name.
func (a *Allocator) nodeNames(ctx context.Context) (map[string]bool, error) {
	rs, _, err := a.c.List(ctx, "Node", "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(rs))
	for _, r := range rs {
		out[r.GetObjectMeta().Name] = true
	}
	return out, nil
}

func (a *Allocator) listWEPs(ctx context.Context) ([]wepView, error) {
	rs, _, err := a.c.List(ctx, "WorkloadEndpoint", "")
	if err != nil {
		return nil, err
	}
	out := make([]wepView, len(rs))
	for i, r := range rs {
		if err := viewAs(r, &out[i]); err != nil {
			return nil, fmt.Errorf("workload endpoint %q: %w", r.GetObjectMeta().Name, err)
		}
	}
	return out, nil
}

// reservations returns a predicate for addresses held back by IPReservation resources.
func (a *Allocator) reservations(ctx context.Context) (func(netip.Addr) bool, error) {
	if _, ok := api.LookupKind("IPReservation"); !ok {
		return nil, nil
	}
	rs, _, err := a.c.List(ctx, "IPReservation", "")
	if err != nil {
		return nil, err
	}
	var nets []netip.Prefix
	for _, r := range rs {
		var v reservationView
		if err := viewAs(r, &v); err != nil {
			return nil, err
		}
		for _, s := range v.Spec.ReservedCIDRs {
			p, err := parseCIDROrIP(s)
			if err != nil {
				return nil, fmt.Errorf("IPReservation %q: spec.reservedCIDRs: %w", r.GetObjectMeta().Name, err)
			}
			nets = append(nets, p)
		}
	}
	return reservedFunc(nets), nil
}

// reservedFunc is the predicate for addresses inside nets (nil when there are none).
func reservedFunc(nets []netip.Prefix) func(netip.Addr) bool {
	if len(nets) == 0 {
		return nil
	}
	return func(ip netip.Addr) bool {
		for _, p := range nets {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
}

// parseCIDROrIP accepts "10.0.0.0/24" or a bare address (as a /32 or /128).
func parseCIDROrIP(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}
