package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/ipam"
)

// Pool IDs: "brindle-v4" / "brindle-v6" for any IPPool of the family, else
// "brindle-v4:<cidr>" for a network made with --subnet <cidr> (which must lie inside an
// IPPool). Docker hands the ID back on every address request, so the plugin keeps no state.
const poolIDPrefix = "brindle-"

type requestPoolReq struct {
	AddressSpace string
	Pool         string
	SubPool      string
	Options      map[string]string
	V6           bool
}

func (p *Plugin) requestPool(ctx context.Context, req json.RawMessage) (any, error) {
	var r requestPoolReq
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	fam := "v4"
	anyPool := "0.0.0.0/0"
	if r.V6 {
		fam, anyPool = "v6", "::/0"
	}
	if r.SubPool != "" {
		return nil, fmt.Errorf("--ip-range is not supported by brindle's IPAM: give --subnet <a CIDR inside an IPPool> instead")
	}
	if r.Pool == "" {
		// No --subnet: addresses come from any enabled IPPool of the family, per brindle's
		// block affinities, as the CNI path assigns them.
		return map[string]any{"PoolID": poolIDPrefix + fam, "Pool": anyPool, "Data": map[string]string{}}, nil
	}
	cidr, err := netip.ParsePrefix(r.Pool)
	if err != nil {
		return nil, fmt.Errorf("--subnet %q: not a CIDR: %v", r.Pool, err)
	}
	cidr = cidr.Masked()
	if cidr.Addr().Is6() != r.V6 {
		return nil, fmt.Errorf("--subnet %s: wrong address family", cidr)
	}
	if _, err := p.poolContaining(ctx, cidr); err != nil {
		return nil, err
	}
	return map[string]any{"PoolID": poolIDPrefix + fam + ":" + cidr.String(), "Pool": cidr.String(), "Data": map[string]string{}}, nil
}

// poolContaining returns the enabled IPPool that contains cidr.
func (p *Plugin) poolContaining(ctx context.Context, cidr netip.Prefix) (string, error) {
	pools, _, err := p.o.Store.List(ctx, "IPPool", "")
	if err != nil {
		return "", fmt.Errorf("listing IPPools: %w", err)
	}
	for _, r := range pools {
		pool, ok := r.(*api.IPPool)
		if !ok || pool.Spec.Disabled {
			continue
		}
		pc, err := netip.ParsePrefix(pool.Spec.CIDR)
		if err != nil {
			continue
		}
		if pc.Bits() <= cidr.Bits() && pc.Contains(cidr.Addr()) {
			return pool.Name, nil
		}
	}
	return "", fmt.Errorf("--subnet %s: not inside any enabled IPPool (brindle get ippools)", cidr)
}

type requestAddressReq struct {
	PoolID  string
	Address string
	Options map[string]string
}

// requestAddress assigns one address. The IPAM handle is "docker.<16 hex digits>", a fresh
// reservation id that is also recorded as the allocation's containerID attribute: until
// the endpoint record holds the address, `brindle ipam check` sees it as in flight, and
// after the grace period, with no endpoint, as a leak `ipam gc` reclaims (a plugin or
// daemon that died between address and endpoint).
func (p *Plugin) requestAddress(ctx context.Context, req json.RawMessage) (any, error) {
	var r requestAddressReq
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	fam, subnet, err := parsePoolID(r.PoolID)
	if err != nil {
		return nil, err
	}
	if r.Options["RequestAddressType"] == "com.docker.network.gateway" {
		// Containers route via 169.254.1.1 (Join); the pool's gateway is never used and
		// takes no address from IPAM.
		if subnet.IsValid() {
			return map[string]any{"Address": netip.PrefixFrom(subnet.Addr(), subnet.Bits()).String(), "Data": map[string]string{}}, nil
		}
		return map[string]any{"Address": gatewayFor(fam), "Data": map[string]string{}}, nil
	}
	id, err := reservationID()
	if err != nil {
		return nil, err
	}
	handle := "docker." + id
	attrs := map[string]string{
		ipam.AttrNode: p.o.Node, ipam.AttrTimestamp: time.Now().UTC().String(), ipam.AttrContainerID: id,
	}
	a := p.alloc
	if r.Address != "" {
		ip, err := netip.ParseAddr(r.Address)
		if err != nil {
			return nil, fmt.Errorf("--ip %q: not an IP address", r.Address)
		}
		if subnet.IsValid() && !subnet.Contains(ip) {
			return nil, fmt.Errorf("--ip %s: not inside the network's subnet %s", ip, subnet)
		}
		if err := a.AssignIP(ctx, ipam.AssignIPArgs{IP: ip, HandleID: handle, Attrs: attrs, Hostname: p.o.Node}); err != nil {
			return nil, fmt.Errorf("assigning %s: %w", ip, err)
		}
		return map[string]any{"Address": netip.PrefixFrom(ip, ip.BitLen()).String(), "Data": map[string]string{}}, nil
	}
	args := ipam.AutoAssignArgs{HandleID: handle, Attrs: attrs, Hostname: p.o.Node, IntendedUse: ipam.UseWorkload}
	var pools []string
	if subnet.IsValid() {
		name, err := p.poolContaining(ctx, subnet)
		if err != nil {
			return nil, err
		}
		pools = []string{name}
	}
	if fam == "v6" {
		args.Num6, args.IPv6Pools = 1, pools
	} else {
		args.Num4, args.IPv4Pools = 1, pools
	}
	got4, got6, err := a.AutoAssign(ctx, args)
	got := append(got4, got6...)
	if err == nil && len(got) == 0 {
		err = fmt.Errorf("no address available")
	}
	if err != nil {
		_ = a.ReleaseByHandle(context.WithoutCancel(ctx), handle)
		return nil, fmt.Errorf("assigning an address (handle %s): %w; add or enlarge an IPPool, or free addresses (brindle ipam gc)", handle, err)
	}
	ip := got[0].Addr()
	if subnet.IsValid() && !subnet.Contains(ip) {
		// The pool is larger than --subnet: the address must come from the subnet.
		_ = a.ReleaseByHandle(context.WithoutCancel(ctx), handle)
		return nil, fmt.Errorf("--subnet %s is smaller than its IPPool; use the pool's CIDR, or none", subnet)
	}
	return map[string]any{"Address": netip.PrefixFrom(ip, ip.BitLen()).String(), "Data": map[string]string{}}, nil
}

type releaseAddressReq struct {
	PoolID  string
	Address string
}

func (p *Plugin) releaseAddress(ctx context.Context, req json.RawMessage) (any, error) {
	var r releaseAddressReq
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(r.Address)
	if err != nil {
		if pfx, perr := netip.ParsePrefix(r.Address); perr == nil {
			ip, err = pfx.Addr(), nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("Address %q: not an IP address", r.Address)
	}
	if _, subnet, _ := parsePoolID(r.PoolID); subnet.IsValid() && ip == subnet.Addr() {
		return struct{}{}, nil // the unused gateway, never allocated
	}
	if ip.String() == "169.254.1.1" || ip.String() == "fe80::1" {
		return struct{}{}, nil
	}
	if _, err := p.alloc.ReleaseIPs(ctx, ipam.ReleaseOptions{Address: ip}); err != nil {
		return nil, fmt.Errorf("releasing %s: %w", ip, err)
	}
	return struct{}{}, nil
}

func gatewayFor(fam string) string {
	if fam == "v6" {
		return "fe80::1/128"
	}
	return "169.254.1.1/32"
}

func parsePoolID(id string) (fam string, subnet netip.Prefix, err error) {
	rest, ok := strings.CutPrefix(id, poolIDPrefix)
	if !ok {
		return "", netip.Prefix{}, fmt.Errorf("PoolID %q: not one of brindle's (the network's IPAM driver must be brindle)", id)
	}
	fam, cidr, _ := strings.Cut(rest, ":")
	if fam != "v4" && fam != "v6" {
		return "", netip.Prefix{}, fmt.Errorf("PoolID %q: unknown family", id)
	}
	if cidr != "" {
		if subnet, err = netip.ParsePrefix(cidr); err != nil {
			return "", netip.Prefix{}, fmt.Errorf("PoolID %q: %v", id, err)
		}
	}
	return fam, subnet, nil
}

func reservationID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
