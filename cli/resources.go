package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
)

// resourceCommands are calicoctl's resource verbs.
func resourceCommands() []*ucli.Command {
	return []*ucli.Command{
		getCommand(),
		writeCommand(writeVerb{name: "create", past: "created", usage: "create resources from a file (fails if one exists)"}),
		writeCommand(writeVerb{name: "apply", past: "applied", usage: "create or update resources from a file"}),
		writeCommand(writeVerb{name: "replace", past: "replaced", usage: "update existing resources from a file"}),
		deleteCommand(),
		patchCommand(),
		labelCommand(),
	}
}

// Flags are built fresh per command: urfave keeps per-flag state, and tests run many apps.
func namespaceFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "namespace of namespaced kinds (default \"default\")"}
}

func filenameFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "filename", Aliases: []string{"f"}, Usage: "YAML/JSON file of resources, - for stdin"}
}

func getCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "get",
		Usage:     "print one or all resources of a kind",
		ArgsUsage: "<kind> [<name>...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "yaml, json, wide or name (default: table)"},
			namespaceFlag(),
			&ucli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "list namespaced kinds in every namespace"},
		},
		Action: runGet,
	}
}

func runGet(c *ucli.Context) error {
	args, err := positionals(c)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("get: a resource kind is required, e.g. `get ippools`")
	}
	k, err := lookupKind(args[0])
	if err != nil {
		return err
	}
	names := args[1:]
	cl, err := storeClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := context.Background()
	all := c.Bool("all-namespaces")
	ns := namespaceFor(c, k, "")
	var items []api.Resource
	var rev int64
	if len(names) == 0 {
		if all {
			ns = ""
		}
		var broken []store.BrokenRecord
		items, broken, rev, err = cl.ListWithBroken(ctx, k.Kind, ns)
		if err != nil {
			return fmt.Errorf("Failed to get resources: %w", err)
		}
		// One undecodable record must not hide the others: it is named on stderr (stdout
		// stays a valid listing) so the user can fix or delete the key.
		for _, b := range broken {
			fmt.Fprintf(c.App.ErrWriter, "error: %v\n", b)
		}
	} else {
		for _, n := range names {
			r, err := cl.Get(ctx, k.Kind, ns, n)
			if err != nil {
				return fmt.Errorf("Failed to get resources: %w", err)
			}
			items = append(items, r)
		}
	}
	o := printOptions{Format: c.String("output"), Single: len(names) == 1, AllNamespaces: all, ListRevision: rev}
	if k.Kind == "Node" {
		o.DefaultASN = defaultASN(ctx, cl)
	}
	return printResources(c.App.Writer, k, items, o)
}

// defaultASN is the AS number nodes without their own inherit: the default BGPConfiguration's,
// else Calico's 64512.
func defaultASN(ctx context.Context, cl *store.Client) string {
	if r, err := cl.Get(ctx, "BGPConfiguration", "", "default"); err == nil {
		if m, err := toObj(r); err == nil {
			if v := m.str("spec", "asNumber"); v != "" {
				return v
			}
		}
	}
	return "64512"
}

func lookupKind(name string) (*api.KindInfo, error) {
	k, ok := api.LookupKind(name)
	if !ok {
		known := make([]string, 0, len(api.Kinds()))
		for _, ki := range api.Kinds() {
			known = append(known, ki.Plural)
		}
		if near := api.NearestKind(name); near != "" {
			return nil, fmt.Errorf("resource type %q is not supported: did you mean %q? (known: %s)", name, near, strings.Join(known, ", "))
		}
		return nil, fmt.Errorf("resource type %q is not supported (known: %s)", name, strings.Join(known, ", "))
	}
	return k, nil
}

// namespaceFor picks the namespace of a namespaced kind: the document's, else --namespace,
// else "default" (as calicoctl). Other kinds have none.
func namespaceFor(c *ucli.Context, k *api.KindInfo, fromDoc string) string {
	if !k.Namespaced {
		return ""
	}
	if fromDoc != "" {
		return fromDoc
	}
	if ns := c.String("namespace"); ns != "" {
		return ns
	}
	return "default"
}

// positionals returns the command's arguments and parses any flags written after them:
// urfave/cli stops at the first argument, but calicoctl users write `get ippools -o wide`.
func positionals(c *ucli.Context) ([]string, error) {
	raw := c.Args().Slice()
	var out []string
	for i := 0; i < len(raw); i++ {
		a := raw[i]
		if a == "--" {
			return append(out, raw[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := findFlag(c, name)
		if f == nil {
			return nil, fmt.Errorf("%s: flag provided but not defined: %s", c.Command.Name, a)
		}
		if _, isBool := f.(*ucli.BoolFlag); isBool {
			if !hasValue {
				value = "true"
			}
		} else if !hasValue {
			if i+1 >= len(raw) {
				return nil, fmt.Errorf("%s: flag %s needs a value", c.Command.Name, a)
			}
			i++
			value = raw[i]
		}
		// Set the primary name: urfave copies aliases to it only during its own parse.
		if err := c.Set(f.Names()[0], value); err != nil {
			return nil, fmt.Errorf("%s: flag %s: %w", c.Command.Name, a, err)
		}
	}
	return out, nil
}

// findFlag looks a flag up by any of its names in the command, then in the global flags.
func findFlag(c *ucli.Context, name string) ucli.Flag {
	for _, set := range [][]ucli.Flag{c.Command.Flags, c.App.Flags} {
		for _, f := range set {
			for _, n := range f.Names() {
				if n == name {
					return f
				}
			}
		}
	}
	return nil
}
