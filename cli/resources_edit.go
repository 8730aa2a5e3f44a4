package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"
)

// maxCASAttempts bounds read-modify-write retries when others write the same resource.
const maxCASAttempts = 10

// modify reads a resource, lets edit change it, and writes it back only if nobody wrote in
// between (compare-and-swap on resourceVersion), retrying from a fresh read otherwise.
func modify(ctx context.Context, cl *store.Client, k *api.KindInfo, ns, name string, edit func(api.Resource) (api.Resource, error)) error {
	for attempt := 1; ; attempt++ {
		cur, err := cl.Get(ctx, k.Kind, ns, name)
		if err != nil {
			return err
		}
		rv := cur.GetObjectMeta().ResourceVersion
		next, err := edit(cur)
		if err != nil {
			return err
		}
		next.GetObjectMeta().ResourceVersion = rv
		_, err = cl.Update(ctx, next)
		if errors.Is(err, store.ErrConflict) && attempt < maxCASAttempts {
			continue
		}
		return err
	}
}

func patchCommand() *ucli.Command {
	return &ucli.Command{
		Name: "patch", Usage: "change fields of one resource with a JSON merge patch",
		ArgsUsage: "<kind> <name> -p '<patch>'",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "patch", Aliases: []string{"p"}, Usage: `JSON (or YAML) merge patch, e.g. '{"spec":{"natOutgoing":true}}'`},
			namespaceFlag(),
		},
		Action: runPatch,
	}
}

func runPatch(c *ucli.Context) error {
	args, err := positionals(c)
	if err != nil {
		return err
	}
	if len(args) != 2 {
		return fmt.Errorf("patch: need exactly <kind> <name>")
	}
	k, err := lookupKind(args[0])
	if err != nil {
		return err
	}
	patchJSON, err := yaml.YAMLToJSON([]byte(c.String("patch")))
	if err != nil || c.String("patch") == "" {
		return fmt.Errorf("patch: -p/--patch must be a JSON merge patch object: %v", err)
	}
	var patch map[string]any
	if err := json.Unmarshal(patchJSON, &patch); err != nil {
		return fmt.Errorf("patch: -p/--patch must be a JSON object: %w", err)
	}
	cl, err := writeClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	name := args[1]
	err = modify(context.Background(), cl, k, namespaceFor(c, k, ""), name, func(cur api.Resource) (api.Resource, error) {
		return applyMergePatch(k, cur, patch)
	})
	if err != nil {
		return fmt.Errorf("Failed to patch '%s' resource: [%v]", k.Kind, err)
	}
	fmt.Fprintf(c.App.Writer, "Successfully patched 1 '%s' resource\n", k.Kind)
	return nil
}

// applyMergePatch applies an RFC 7386 merge patch to a resource and decodes the result
// strictly, so a misspelt field in the patch is an error rather than silently dropped.
func applyMergePatch(k *api.KindInfo, cur api.Resource, patch map[string]any) (api.Resource, error) {
	m, err := toObj(cur)
	if err != nil {
		return nil, err
	}
	merged := mergePatch(map[string]any(m), patch)
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, err
	}
	out := k.NewResource()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return nil, fmt.Errorf("patched %s: %w", k.Kind, err)
	}
	om, cm := out.GetObjectMeta(), cur.GetObjectMeta()
	if om.Name != cm.Name || om.Namespace != cm.Namespace {
		return nil, fmt.Errorf("metadata.name/namespace: cannot be changed by a patch")
	}
	if tm := out.GetTypeMeta(); tm.Kind != k.Kind || tm.APIVersion != api.Group {
		return nil, fmt.Errorf("kind/apiVersion: cannot be changed by a patch")
	}
	return out, nil
}

// mergePatch is RFC 7386: objects merge recursively, null deletes, anything else replaces.
func mergePatch(target any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for key, pv := range p {
		if pv == nil {
			delete(t, key)
			continue
		}
		t[key] = mergePatch(t[key], pv)
	}
	return t
}

func labelCommand() *ucli.Command {
	return &ucli.Command{
		Name: "label", Usage: "set (key=value) or remove (key- or --remove key) labels on one resource",
		ArgsUsage: "<kind> <name> key=value... | key-...",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "overwrite", Usage: "replace the value of a label that is already set"},
			&ucli.BoolFlag{Name: "remove", Usage: "remove the named label keys (calicoctl's form)"},
			namespaceFlag(),
		},
		Action: runLabel,
	}
}

// labelOp is one requested change: set key to value, or remove key.
type labelOp struct {
	key, value string
	remove     bool
}

func parseLabelOps(words []string, removeAll bool) ([]labelOp, error) {
	var ops []labelOp
	for _, w := range words {
		switch {
		case removeAll:
			ops = append(ops, labelOp{key: strings.TrimSuffix(w, "-"), remove: true})
		case strings.Contains(w, "="):
			k, v, _ := strings.Cut(w, "=")
			ops = append(ops, labelOp{key: k, value: v})
		case strings.HasSuffix(w, "-"):
			ops = append(ops, labelOp{key: strings.TrimSuffix(w, "-"), remove: true})
		default:
			return nil, fmt.Errorf("label: %q: want key=value to set or key- to remove", w)
		}
		if ops[len(ops)-1].key == "" {
			return nil, fmt.Errorf("label: %q: the label key is empty", w)
		}
	}
	return ops, nil
}

func runLabel(c *ucli.Context) error {
	args, err := positionals(c)
	if err != nil {
		return err
	}
	if len(args) < 3 {
		return fmt.Errorf("label: need <kind> <name> and at least one key=value or key-")
	}
	k, err := lookupKind(args[0])
	if err != nil {
		return err
	}
	ops, err := parseLabelOps(args[2:], c.Bool("remove"))
	if err != nil {
		return err
	}
	cl, err := writeClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	name := args[1]
	err = modify(context.Background(), cl, k, namespaceFor(c, k, ""), name, func(r api.Resource) (api.Resource, error) {
		return r, applyLabelOps(r, ops, c.Bool("overwrite"))
	})
	if err != nil {
		return fmt.Errorf("Failed to update labels of %s %s: %v", k.Plural, name, err)
	}
	for _, op := range ops {
		if op.remove {
			fmt.Fprintf(c.App.Writer, "Successfully removed label %s from %s %s\n", op.key, k.Plural, name)
		} else {
			fmt.Fprintf(c.App.Writer, "Successfully set label %s on %s %s\n", op.key, k.Plural, name)
		}
	}
	return nil
}

func applyLabelOps(r api.Resource, ops []labelOp, overwrite bool) error {
	m := r.GetObjectMeta()
	if m.Labels == nil {
		m.Labels = api.Labels{}
	}
	for _, op := range ops {
		old, exists := m.Labels[op.key]
		switch {
		case op.remove && !exists:
			return fmt.Errorf("metadata.labels: key %q is not set", op.key)
		case op.remove:
			delete(m.Labels, op.key)
		case exists && old != op.value && !overwrite:
			return fmt.Errorf("metadata.labels: key %q is already set to %q; use --overwrite to change it", op.key, old)
		default:
			m.Labels[op.key] = op.value
		}
	}
	if len(m.Labels) == 0 {
		m.Labels = nil
	}
	return nil
}
