package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/node/epstatus"
	ucli "github.com/urfave/cli/v2"
)

// nodeEndpointsCommand is `brindle node endpoints`: this node's workload endpoints with,
// per direction, the tiers, policies and profiles that apply in order and the packet and
// byte counters of their rules. It reads the agent's status socket, like `node status`.
func nodeEndpointsCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "endpoints",
		Usage:     "show this node's workload endpoints and the policy that applies to each, with rule counters",
		ArgsUsage: "[interface or workload name ...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "json (default: a table per endpoint and direction)"},
		},
		Action: func(c *ucli.Context) error {
			switch c.String("output") {
			case "", "json":
			default:
				return fmt.Errorf("--output %q: want json or nothing (tables)", c.String("output"))
			}
			return runNodeEndpoints(c.Context, os.Stdout, bgpstatus.SocketPath(nodeStateDir()), c.Args().Slice(), c.String("output") == "json")
		},
	}
}

func runNodeEndpoints(ctx context.Context, w io.Writer, sock string, only []string, asJSON bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := epstatus.Fetch(ctx, sock)
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("this command must be run as root (status socket %s: %w)", sock, err)
	}
	if err != nil {
		fmt.Fprintln(w, "Calico process is not running.")
		return ucli.Exit("", 1)
	}
	if asJSON {
		var keep []epstatus.Endpoint
		for _, e := range r.Endpoints {
			if len(only) == 0 || matchesAny(e, only) {
				keep = append(keep, e)
			}
		}
		r.Endpoints = keep
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeNodeEndpoints(w, r, only)
	return nil
}

// writeNodeEndpoints prints one block per endpoint and one table per direction: a row per
// policy or profile in evaluation order with its rules' counters, then the endpoint
// chain's own drops.
func writeNodeEndpoints(w io.Writer, r *epstatus.Reply, only []string) {
	if !r.Programmed {
		fmt.Fprintln(w, "Policy is not programmed yet.")
		return
	}
	shown := 0
	for _, e := range r.Endpoints {
		if len(only) > 0 && !matchesAny(e, only) {
			continue
		}
		shown++
		name := e.Name
		if e.Namespace != "" {
			name = e.Namespace + "/" + name
		}
		fmt.Fprintf(w, "\nWorkload endpoint %s (interface %s, %s)\n", name, e.Iface, strings.Join(e.Addrs, ", "))
		for _, d := range []struct {
			label string
			dir   epstatus.Direction
		}{{"Ingress (to the workload)", e.Ingress}, {"Egress (from the workload)", e.Egress}} {
			fmt.Fprintf(w, "%s:\n", d.label)
			writeTable(w, []string{"#", "TIER", "POLICY OR PROFILE", "RULE", "PACKETS", "BYTES"}, directionRows(d.dir))
		}
	}
	if shown == 0 {
		fmt.Fprintln(w, "No workload endpoints on this node.")
	}
}

func matchesAny(e epstatus.Endpoint, only []string) bool {
	for _, o := range only {
		if o == e.Iface || o == e.Name || o == e.Namespace+"/"+e.Name {
			return true
		}
	}
	return false
}

func directionRows(d epstatus.Direction) [][]string {
	var rows [][]string
	n := 0
	add := func(tier string, p epstatus.Policy) {
		n++
		name := p.Name
		if p.Namespace != "" {
			name = p.Namespace + "/" + name
		}
		if len(p.Rules) == 0 {
			rows = append(rows, []string{strconv.Itoa(n), tier, name, "(not programmed)", "", ""})
			return
		}
		for i, c := range p.Rules {
			first := []string{strconv.Itoa(n), tier, name}
			if i > 0 {
				first = []string{"", "", ""}
			}
			rows = append(rows, append(first, ruleLabel(c.Rule), strconv.FormatUint(c.Packets, 10), strconv.FormatUint(c.Bytes, 10)))
		}
	}
	for _, t := range d.Tiers {
		label := t.Name
		if t.EndOfTierPass {
			label += " (pass)"
		}
		for _, p := range t.Policies {
			add(label, p)
		}
	}
	for _, p := range d.Profiles {
		add("(profile)", p)
	}
	// The verdicts of the endpoint's chains: anti-spoofing, conntrack, end-of-tier drops, the
	// final drop (the group chain's counters are shared with endpoints of the same policies).
	for _, c := range d.Steps {
		if c.Rule == "entered" || strings.HasPrefix(c.Rule, "policy:") || strings.HasPrefix(c.Rule, "profile:") || strings.HasPrefix(c.Rule, "group:") {
			continue
		}
		rows = append(rows, []string{"", "", "(endpoint)", c.Rule, strconv.FormatUint(c.Packets, 10), strconv.FormatUint(c.Bytes, 10)})
	}
	if len(rows) == 0 {
		rows = append(rows, []string{"", "", "(nothing applies: every packet is dropped)", "", "", ""})
	}
	return rows
}

// ruleLabel turns "r2:Allow" into "ingress/egress rule 2 (Allow)"-style text.
func ruleLabel(tag string) string {
	if tag == "entered" {
		return "evaluated"
	}
	if rest, ok := strings.CutPrefix(tag, "r"); ok {
		if i, action, ok := strings.Cut(rest, ":"); ok {
			return "rule " + i + " " + action
		}
	}
	return tag
}
