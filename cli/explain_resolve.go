package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/explain"
)

// resolveEndpoint finds what arg names: a workload endpoint (its name, namespace/name,
// workload or container ID, or a unique prefix of at least 6 characters of the container
// ID), a node by name, or an address (a workload's, a node's, or one outside the cluster).
func resolveEndpoint(arg string, weps []*api.WorkloadEndpoint, nodes []*api.Node) (explain.Endpoint, error) {
	e, err := resolveEndpointOnly(arg, weps, nodes)
	for _, n := range nodes {
		if p, ok := nodeAddr(n); ok && n.Name == e.Node && e.Node != "" {
			e.NodeAddr = p.Addr()
		}
	}
	return e, err
}

func resolveEndpointOnly(arg string, weps []*api.WorkloadEndpoint, nodes []*api.Node) (explain.Endpoint, error) {
	if a, err := netip.ParseAddr(arg); err == nil {
		if !a.Is4() {
			return explain.Endpoint{}, fmt.Errorf("%q: only IPv4 is walked", arg)
		}
		for _, w := range weps {
			for _, n := range w.Spec.IPNetworks {
				if p, err := netip.ParsePrefix(n); err == nil && p.Addr() == a {
					return wepEndpoint(w, a), nil
				}
			}
		}
		for _, n := range nodes {
			if p, ok := nodeAddr(n); ok && p.Addr() == a {
				return explain.Endpoint{Kind: explain.KindNode, Name: n.Name, Node: n.Name, Addr: a}, nil
			}
		}
		return explain.Endpoint{Kind: explain.KindAddress, Addr: a}, nil
	}
	var hits []*api.WorkloadEndpoint
	for _, w := range weps {
		id := w.Spec.ContainerID
		if w.Name == arg || w.Namespace+"/"+w.Name == arg || w.Spec.Workload == arg || id == arg ||
			(len(arg) >= 6 && strings.HasPrefix(id, arg)) {
			hits = append(hits, w)
		}
	}
	if len(hits) > 1 {
		var names []string
		for _, w := range hits {
			names = append(names, w.Namespace+"/"+w.Name)
		}
		sort.Strings(names)
		return explain.Endpoint{}, fmt.Errorf("%q names %d workload endpoints (%s); give one's namespace/name", arg, len(hits), strings.Join(names, ", "))
	}
	if len(hits) == 1 {
		w := hits[0]
		for _, n := range w.Spec.IPNetworks {
			if p, err := netip.ParsePrefix(n); err == nil && p.Addr().Is4() {
				return wepEndpoint(w, p.Addr()), nil
			}
		}
		return explain.Endpoint{}, fmt.Errorf("workload endpoint %s/%s has no IPv4 address in spec.ipNetworks", w.Namespace, w.Name)
	}
	for _, n := range nodes {
		if n.Name == arg {
			p, ok := nodeAddr(n)
			if !ok {
				return explain.Endpoint{}, fmt.Errorf("node %s has no spec.bgp.ipv4Address", arg)
			}
			return explain.Endpoint{Kind: explain.KindNode, Name: n.Name, Node: n.Name, Addr: p.Addr()}, nil
		}
	}
	return explain.Endpoint{}, fmt.Errorf("%q is no workload endpoint name, container ID, node name or IPv4 address", arg)
}

func wepEndpoint(w *api.WorkloadEndpoint, a netip.Addr) explain.Endpoint {
	return explain.Endpoint{Kind: explain.KindWorkload, Name: w.Name, Node: w.Spec.Node, Addr: a}
}

func nodeAddr(n *api.Node) (netip.Prefix, bool) {
	if n.Spec.BGP == nil {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(n.Spec.BGP.IPv4Address)
	return p, err == nil
}

// fetchFacts asks the agent at target for its explain.Facts; the flow goes along so that an
// agent enforcing policy can give its verdicts for it.
func fetchFacts(ctx context.Context, target string, conf *tls.Config, q explain.Query, timeout time.Duration) (*explain.Facts, error) {
	var f explain.Facts
	if err := agentGet(ctx, target, conf, explain.FactsPath+"?"+explain.FlowValues(q).Encode(), timeout, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// agentGet GETs urlPath from the agent at target and decodes the JSON reply.
func agentGet(ctx context.Context, target string, conf *tls.Config, urlPath string, timeout time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, base, err := agentClient(target, conf)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+urlPath, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			return oe.Err
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s (an agent older than explain?)", resp.Status, strings.TrimSpace(string(msg)))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
