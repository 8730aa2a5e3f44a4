package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/explain"
	ucli "github.com/urfave/cli/v2"
)

// explainCommand is `brindle explain <source> <destination>`: the seed's packet walk, from
// the datastore (who is where) and each node agent's facts (what its kernel holds).
func explainCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "explain",
		Usage:     "walk a flow's path hop by hop from live state (docs/explain.md)",
		ArgsUsage: "<source> <destination>  (workload endpoint name, container ID, address or node name)",
		Flags: []ucli.Flag{
			&ucli.IntFlag{Name: "port", Usage: "destination port (tcp, udp)"},
			&ucli.StringFlag{Name: "protocol", Value: "tcp", Usage: "tcp, udp or icmp"},
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "json for tools"},
			&ucli.StringSliceFlag{Name: "agent", Usage: "NODE=TARGET: reach NODE's agent at this status socket path, https://host:port or http://<loopback>:port"},
			&ucli.IntFlag{Name: "agent-port", Usage: "reach agents without --agent at https://<node address>:PORT (their --status-listen)"},
			&ucli.StringFlag{Name: "agent-tls-cert", Usage: "client certificate for https agents (default: the etcd client certificate)"},
			&ucli.StringFlag{Name: "agent-tls-key", Usage: "client key for https agents (default: the etcd client key)"},
			&ucli.StringFlag{Name: "agent-tls-ca", Usage: "CA that signed the agents' certificates (default: the etcd CA)"},
			&ucli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "per agent"},
			&ucli.BoolFlag{Name: "capture", Usage: "capture on the fabric-facing devices and report whether the predicted packets pass (traffic must flow meanwhile)"},
			&ucli.DurationFlag{Name: "capture-for", Value: 3 * time.Second, Usage: "how long --capture listens (at most 10s)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 2 {
				return fmt.Errorf("explain: want <source> <destination>, got %d arguments", c.NArg())
			}
			q := explain.Query{Protocol: c.String("protocol"), Port: c.Int("port")}
			switch q.Protocol {
			case "tcp", "udp", "icmp":
			default:
				return fmt.Errorf("--protocol %q: want tcp, udp or icmp", q.Protocol)
			}
			if q.Port < 0 || q.Port > 65535 || (q.Port > 0 && q.Protocol == "icmp") {
				return fmt.Errorf("--port %d: want 1-65535, and no port with icmp", q.Port)
			}
			if o := c.String("output"); o != "" && o != "json" {
				return fmt.Errorf("--output %q: only json", o)
			}
			if d := c.Duration("capture-for"); d <= 0 || d > explain.MaxCapture {
				return fmt.Errorf("--capture-for %s: want more than 0 and at most %s", d, explain.MaxCapture)
			}
			targets, err := parseAgents(c.StringSlice("agent"))
			if err != nil {
				return err
			}
			ag := agentSet{targets: targets, port: c.Int("agent-port")}
			if ag.port < 0 || ag.port > 65535 {
				return fmt.Errorf("--agent-port %d: want 1-65535", ag.port)
			}
			if ag.tls, err = statusTLSFrom(c, "agent-tls", bgpstatus.ClientTLS); err != nil {
				return err
			}
			cl, err := storeClient(c)
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(c.Context, 30*time.Second)
			defer cancel()
			weps, nodes, err := listForExplain(ctx, cl)
			if err != nil {
				return err
			}
			if q.Src, err = resolveEndpoint(c.Args().Get(0), weps, nodes); err != nil {
				return fmt.Errorf("source: %w", err)
			}
			if q.Dst, err = resolveEndpoint(c.Args().Get(1), weps, nodes); err != nil {
				return fmt.Errorf("destination: %w", err)
			}
			cluster, socks := gatherFacts(ctx, ag, q, c.Duration("timeout"))
			res := explain.Walk(q, cluster)
			if c.Bool("capture") {
				res.Captures = runCaptures(ctx, explain.CapturePlan(res, cluster, c.Duration("capture-for")), socks, ag.tls, c.Duration("timeout"))
			}
			if err := writeExplain(os.Stdout, res, c.String("output")); err != nil {
				return err
			}
			if !res.OK {
				return ucli.Exit("", 2)
			}
			return nil
		},
	}
}

func writeExplain(w io.Writer, res explain.Result, output string) error {
	if output == "json" {
		e := json.NewEncoder(w)
		e.SetIndent("", "  ")
		return e.Encode(res)
	}
	return explain.Render(w, res)
}

// parseAgents reads --agent NODE=TARGET pairs.
func parseAgents(specs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, s := range specs {
		node, sock, ok := strings.Cut(s, "=")
		if !ok || node == "" || sock == "" {
			return nil, fmt.Errorf("--agent %q: want NODE=TARGET, e.g. node01=/var/lib/calico/brindle.sock or node01=https://10.0.0.1:9443", s)
		}
		out[node] = sock
	}
	return out, nil
}

// agentSet is how explain reaches agents: --agent targets, --agent-port, the TLS material.
type agentSet struct {
	targets map[string]string
	port    int
	tls     *tls.Config
}

// gatherFacts asks the agents of the nodes the walk visits. The local socket is asked
// too: its reply names its node. A node nobody answers for is unreachable, with why. It
// returns the target each node answered on (for --capture).
func gatherFacts(ctx context.Context, ag agentSet, q explain.Query, timeout time.Duration) (explain.Cluster, map[string]string) {
	c := explain.Cluster{Facts: map[string]*explain.Facts{}, Unreachable: map[string]string{}}
	targets := map[string]string{}
	local := bgpstatus.SocketPath(nodeStateDir())
	var localErr error
	if f, err := fetchFacts(ctx, local, nil, q, timeout); err == nil {
		c.Facts[f.Node], targets[f.Node] = f, local
	} else {
		localErr = err
	}
	for _, e := range []explain.Endpoint{q.Src, q.Dst} {
		n := e.Node
		if n == "" || c.Facts[n] != nil || c.Unreachable[n] != "" {
			continue
		}
		target, ok := agentTarget(n, e.NodeAddr, ag.targets, ag.port)
		if !ok {
			why := "no --agent " + n + "=TARGET or --agent-port given"
			if localErr != nil {
				why += ", and the local agent at " + local + " did not answer: " + localErr.Error()
			} else {
				why += ", and the local agent is another node's"
			}
			c.Unreachable[n] = why
			continue
		}
		f, err := fetchFacts(ctx, target, ag.tls, q, timeout)
		switch {
		case err != nil:
			c.Unreachable[n] = target + ": " + err.Error()
		case f.Node != n:
			c.Unreachable[n] = fmt.Sprintf("%s is the agent of %s, not %s", target, f.Node, n)
		default:
			c.Facts[n], targets[n] = f, target
		}
	}
	return c, targets
}

// runCaptures runs the planned captures at once, each on its node's agent.
func runCaptures(ctx context.Context, plan map[string]explain.CaptureQuery, targets map[string]string, conf *tls.Config, timeout time.Duration) []explain.CaptureReport {
	nodes := make([]string, 0, len(plan))
	for n := range plan {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	out := make([]explain.CaptureReport, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		q := plan[n]
		out[i] = explain.CaptureReport{Node: n, Dev: q.Dev, Seconds: q.For.Seconds()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := agentGet(ctx, targets[n], conf, explain.CapturePath+"?"+q.Values().Encode(), q.For+timeout, &out[i])
			if err != nil {
				out[i].Err = err.Error()
			}
		}()
	}
	wg.Wait()
	return out
}

// listForExplain reads the workload endpoints and nodes the endpoints are resolved from.
func listForExplain(ctx context.Context, cl interface {
	List(ctx context.Context, kind, namespace string) ([]api.Resource, int64, error)
}) ([]*api.WorkloadEndpoint, []*api.Node, error) {
	rs, _, err := cl.List(ctx, "WorkloadEndpoint", "")
	if err != nil {
		return nil, nil, fmt.Errorf("listing workload endpoints: %w", err)
	}
	var weps []*api.WorkloadEndpoint
	for _, r := range rs {
		if w, ok := r.(*api.WorkloadEndpoint); ok {
			weps = append(weps, w)
		}
	}
	rs, _, err = cl.List(ctx, "Node", "")
	if err != nil {
		return nil, nil, fmt.Errorf("listing nodes: %w", err)
	}
	var nodes []*api.Node
	for _, r := range rs {
		if n, ok := r.(*api.Node); ok {
			nodes = append(nodes, n)
		}
	}
	return weps, nodes, nil
}
