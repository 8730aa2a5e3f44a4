package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/brindle-net/brindle/cni"
	"go.uber.org/zap"
)

// Endpoint records: orchestrator "libnetwork", workload "libnetwork" and the Docker endpoint
// ID as the endpoint, as Calico's libnetwork plugin named them, so the name is
// `<node>-libnetwork-libnetwork-<endpoint id>` in namespace "default". The host veth is
// "cali" + the first 11 characters of the endpoint ID; the container side starts as
// "tmp" + the same and Docker renames it (eth0, ...) when it moves it into the container.
const (
	orchestrator = "libnetwork"
	namespace    = "default"
)

// LabelPrefix marks the container labels that become endpoint labels, without the prefix:
// `docker run --label org.projectcalico.label.role=db` gives the endpoint role=db.
const LabelPrefix = "org.projectcalico.label."

func wepName(node, endpointID string) string {
	return escape(node) + "-" + orchestrator + "-" + orchestrator + "-" + escape(endpointID)
}

func escape(s string) string { return strings.ReplaceAll(s, "-", "--") }

func hostVeth(endpointID string) string { return "cali" + short(endpointID) }
func contSide(endpointID string) string { return "tmp" + short(endpointID) }

func short(id string) string {
	if len(id) > 11 {
		return id[:11]
	}
	return id
}

type createNetworkReq struct {
	NetworkID string
	Options   map[string]any
	IPv4Data  []ipamData
	IPv6Data  []ipamData
}

type ipamData struct {
	AddressSpace string
	Pool         string
	Gateway      string
}

// createNetwork only checks that the network's addresses come from brindle's IPAM: the
// network itself is brindle's per-network Profile in etcd (named after the Docker network),
// created with its first endpoint, so the same network name on two hosts is one network.
func (p *Plugin) createNetwork(_ context.Context, req json.RawMessage) (any, error) {
	var r createNetworkReq
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	for _, d := range append(r.IPv4Data, r.IPv6Data...) {
		if d.AddressSpace != "BrindleLocal" && d.AddressSpace != "BrindleGlobal" {
			return nil, fmt.Errorf("network %s: its IPAM driver must be brindle (docker network create -d brindle --ipam-driver brindle)", short(r.NetworkID))
		}
	}
	return struct{}{}, nil
}

func (p *Plugin) deleteNetwork(_ context.Context, req json.RawMessage) (any, error) {
	var r struct{ NetworkID string }
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	// The profile stays, as Calico leaves it: other hosts may still use the network.
	p.mu.Lock()
	delete(p.profiles, p.netNames[r.NetworkID])
	delete(p.netNames, r.NetworkID)
	p.mu.Unlock()
	return struct{}{}, nil
}

type endpointIface struct {
	Address, AddressIPv6, MacAddress string
}

type createEndpointReq struct {
	NetworkID, EndpointID string
	Interface             *endpointIface
	Options               map[string]any
}

// createEndpoint wires the veth and writes the endpoint record; on failure nothing stays.
func (p *Plugin) createEndpoint(ctx context.Context, req json.RawMessage) (any, error) {
	var r createEndpointReq
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if r.EndpointID == "" || r.Interface == nil {
		return nil, fmt.Errorf("CreateEndpoint: EndpointID and Interface are required")
	}
	var ips []netip.Prefix
	for _, s := range []string{r.Interface.Address, r.Interface.AddressIPv6} {
		if s == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("Interface address %q: %v", s, err)
		}
		ips = append(ips, netip.PrefixFrom(pfx.Addr(), pfx.Addr().BitLen()))
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("endpoint %s has no address: the network's IPAM driver must be brindle", short(r.EndpointID))
	}
	network := p.networkName(ctx, r.NetworkID)
	hv := hostVeth(r.EndpointID)
	mac, err := cni.WireHostPair(hv, contSide(r.EndpointID), p.o.MTU, ips)
	if err != nil {
		return nil, err
	}
	ep := cni.Endpoint{
		Node: p.o.Node, Namespace: namespace, Name: wepName(p.o.Node, r.EndpointID),
		Orchestrator: orchestrator, Workload: orchestrator, ContainerID: r.EndpointID,
		IfName: "eth0", HostVeth: hv, MAC: mac, Network: network,
	}
	for _, ip := range ips {
		ep.IPs = append(ep.IPs, ip.String())
	}
	p.mu.Lock()
	ep.ProfileExists = p.profiles[network]
	p.mu.Unlock()
	if err := cni.WriteEndpoint(ctx, p.o.Store, ep); err != nil {
		_ = cni.RemoveHostVeth(hv)
		return nil, err
	}
	p.mu.Lock()
	p.profiles[network] = true
	p.mu.Unlock()
	p.log.Info("docker endpoint created", zap.String("endpoint", short(r.EndpointID)), zap.String("network", network),
		zap.Strings("ips", ep.IPs), zap.String("hostVeth", hv))
	resp := map[string]any{}
	if r.Interface.MacAddress == "" {
		resp["Interface"] = map[string]string{"MacAddress": mac}
	}
	return resp, nil
}

type endpointReq struct {
	NetworkID, EndpointID string
	SandboxKey            string
	Options               map[string]any
}

// deleteEndpoint removes the veth and the endpoint record; Docker then releases the address.
// Both steps are idempotent, so a retried or repeated delete succeeds.
func (p *Plugin) deleteEndpoint(ctx context.Context, req json.RawMessage) (any, error) {
	var r endpointReq
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	verr := cni.RemoveHostVeth(hostVeth(r.EndpointID))
	if err := cni.DeleteEndpoint(ctx, p.o.Store, namespace, wepName(p.o.Node, r.EndpointID), r.EndpointID); err != nil {
		return nil, err
	}
	if verr != nil {
		return nil, verr
	}
	p.log.Info("docker endpoint deleted", zap.String("endpoint", short(r.EndpointID)))
	return struct{}{}, nil
}

func (p *Plugin) endpointInfo(context.Context, json.RawMessage) (any, error) {
	return map[string]any{"Value": map[string]any{}}, nil
}

// join hands Docker the container side to move into the sandbox, with the routes the CNI
// path programs: 169.254.1.1 on link and the default route through it.
func (p *Plugin) join(_ context.Context, req json.RawMessage) (any, error) {
	var r endpointReq
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if p.api != nil {
		go p.labelEndpoint(r.NetworkID, r.EndpointID)
	}
	return map[string]any{
		"InterfaceName":         map[string]string{"SrcName": contSide(r.EndpointID), "DstPrefix": "eth"},
		"Gateway":               cni.GatewayV4.String(),
		"StaticRoutes":          []map[string]any{{"Destination": cni.GatewayV4.String() + "/32", "RouteType": 1}},
		"DisableGatewayService": true,
	}, nil
}

func (p *Plugin) leave(context.Context, json.RawMessage) (any, error) { return struct{}{}, nil }

// networkName is the Docker network's name (the profile), or its ID when Docker's API does
// not answer; cached per ID.
func (p *Plugin) networkName(ctx context.Context, id string) string {
	p.mu.Lock()
	name, ok := p.netNames[id]
	p.mu.Unlock()
	if ok {
		return name
	}
	name = id
	if p.api != nil {
		if n, err := p.api.networkName(ctx, id); err == nil && n != "" {
			name = n
		} else {
			// Not cached: the next endpoint asks again, so one failed lookup does not split
			// the network's endpoints between two profiles for the life of the process.
			p.log.Warn("docker API: no network name; using the network ID as profile", zap.String("network", short(id)), zap.Error(err))
			return name
		}
	}
	p.mu.Lock()
	p.netNames[id] = name
	p.mu.Unlock()
	return name
}

// labelEndpoint copies the container's prefixed labels onto its endpoint. Docker names the
// container only after Join returns, so this asks Docker's API until the network lists the
// endpoint (Calico's plugin did the same).
func (p *Plugin) labelEndpoint(networkID, endpointID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		labels, found, err := p.api.endpointLabels(ctx, networkID, endpointID)
		if err == nil && found {
			l := map[string]string{}
			for k, v := range labels {
				if key, ok := strings.CutPrefix(k, LabelPrefix); ok && key != "" {
					l[key] = v
				}
			}
			if len(l) == 0 {
				return
			}
			if _, err := cni.AddEndpointLabels(ctx, p.o.Store, namespace, wepName(p.o.Node, endpointID), l); err != nil {
				p.log.Warn("labelling endpoint", zap.String("endpoint", short(endpointID)), zap.Error(err))
			}
			return
		}
		select {
		case <-ctx.Done():
			p.log.Warn("docker API: container of endpoint not found; its labels are not applied", zap.String("endpoint", short(endpointID)), zap.Error(err))
			return
		case <-time.After(delay):
		}
	}
}
