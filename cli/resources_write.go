package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
)

// writeVerb is one of create, apply, replace.
type writeVerb struct {
	name, past, usage string
}

func writeCommand(v writeVerb) *ucli.Command {
	flags := []ucli.Flag{filenameFlag(), namespaceFlag()}
	if v.name == "create" {
		flags = append(flags, &ucli.BoolFlag{Name: "skip-exists", Usage: "skip resources that already exist instead of failing"})
	}
	return &ucli.Command{
		Name: v.name, Usage: v.usage, ArgsUsage: "-f <file>", Flags: flags,
		Action: func(c *ucli.Context) error { return runWrite(c, v) },
	}
}

// readDocuments reads -f (a path, or - for stdin) and decodes every document in it.
func readDocuments(c *ucli.Context) ([]api.Resource, error) {
	path := c.String("filename")
	if path == "" {
		return nil, fmt.Errorf("%s: -f/--filename is required", c.Command.Name)
	}
	data, err := readManifest(c.App.Reader, path)
	if path == "-" {
		path = "stdin"
	}
	if err != nil {
		return nil, fmt.Errorf("Failed to execute command: reading %s: %w", path, err)
	}
	docs, err := api.DecodeDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("Failed to execute command: %s: %w", path, err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("Failed to execute command: %s holds no resources", path)
	}
	return docs, nil
}

// readManifest reads path ("-": stdin) up to api.MaxManifestBytes: a larger input is
// refused without reading the rest of it.
func readManifest(stdin io.Reader, path string) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, api.MaxManifestBytes+1))
	if err == nil && len(data) > api.MaxManifestBytes {
		return nil, api.ManifestTooLarge("it")
	}
	return data, err
}

// kindLabel is calicoctl's "'IPPool' " when every document has one kind, else "".
func kindLabel(docs []api.Resource) string {
	for _, r := range docs[1:] {
		if r.GetTypeMeta().Kind != docs[0].GetTypeMeta().Kind {
			return ""
		}
	}
	return "'" + docs[0].GetTypeMeta().Kind + "' "
}

// checkDocuments defaults and validates every document before anything is written, so that
// one bad document in a file leaves the datastore untouched.
func checkDocuments(c *ucli.Context, docs []api.Resource) error {
	var problems []string
	for i, r := range docs {
		if err := checkDocument(c, r); err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", i+1, err))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkDocument(c *ucli.Context, r api.Resource) error {
	k, err := lookupKind(r.GetTypeMeta().Kind)
	if err != nil {
		return err
	}
	m := r.GetObjectMeta()
	fe := func(path string, value any, reason string) error {
		return &api.ValidationError{Kind: k.Kind, Name: m.Name, Errors: []api.FieldError{{Path: path, Value: value, Reason: reason}}}
	}
	if m.Name == "" {
		return fe("metadata.name", nil, "is required")
	}
	if !k.Namespaced && m.Namespace != "" {
		return fe("metadata.namespace", m.Namespace, k.Kind+" is not namespaced")
	}
	m.Namespace = namespaceFor(c, k, m.Namespace)
	if d, ok := r.(api.Defaulter); ok {
		d.Default()
	}
	if v, ok := r.(api.Validator); ok {
		return v.Validate()
	}
	return nil
}

func runWrite(c *ucli.Context, v writeVerb) error {
	if _, err := positionals(c); err != nil {
		return err
	}
	docs, err := readDocuments(c)
	if err != nil {
		return err
	}
	label := kindLabel(docs)
	if err := checkDocuments(c, docs); err != nil {
		return fmt.Errorf("Failed to %s %sresource: [%v]", v.name, label, err)
	}
	cl, err := writeClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := context.Background()
	for i, r := range docs {
		if err := writeOne(ctx, cl, v.name, r, c.Bool("skip-exists")); err != nil {
			if i == 0 {
				return fmt.Errorf("Failed to %s %sresource: [document %d: %v]", v.name, label, i+1, err)
			}
			return fmt.Errorf("Partial success: %s the first %d out of %d %sresources:\nHit error: document %d: %v",
				v.past, i, len(docs), label, i+1, err)
		}
	}
	fmt.Fprintf(c.App.Writer, "Successfully %s %d %sresource(s)\n", v.past, len(docs), label)
	return nil
}

// writeOne performs one verb on one checked resource.
func writeOne(ctx context.Context, cl *store.Client, verb string, r api.Resource, skipExists bool) error {
	m := r.GetObjectMeta()
	switch verb {
	case "create":
		// A file saved with `get -o yaml` carries a resourceVersion; creating means a new object.
		m.ResourceVersion = ""
		_, err := cl.Create(ctx, r)
		if skipExists && errors.Is(err, store.ErrAlreadyExists) {
			return nil
		}
		return err
	case "apply":
		// As calicoctl: try a create; if the object exists, update it, checking the file's
		// resourceVersion when it has one (so a stale edit is refused), else the latest.
		// Create fills uid and creationTimestamp; an update must keep the stored ones instead.
		rv, uid, created := m.ResourceVersion, m.UID, m.CreationTimestamp
		m.ResourceVersion = ""
		_, err := cl.Create(ctx, r)
		if !errors.Is(err, store.ErrAlreadyExists) {
			return err
		}
		m.ResourceVersion, m.UID, m.CreationTimestamp = rv, uid, created
		_, err = cl.Apply(ctx, r)
		return err
	case "replace":
		return replaceOne(ctx, cl, r)
	}
	return fmt.Errorf("unknown verb %q", verb)
}

// replaceOne updates an existing resource. Without a resourceVersion in the file it takes the
// stored one and retries if someone else writes in between.
func replaceOne(ctx context.Context, cl *store.Client, r api.Resource) error {
	m := r.GetObjectMeta()
	if m.ResourceVersion != "" {
		_, err := cl.Update(ctx, r)
		return err
	}
	k, err := lookupKind(r.GetTypeMeta().Kind)
	if err != nil {
		return err
	}
	return modify(ctx, cl, k, m.Namespace, m.Name, func(api.Resource) (api.Resource, error) { return r, nil })
}

func deleteCommand() *ucli.Command {
	return &ucli.Command{
		Name: "delete", Usage: "delete resources named in a file or on the command line",
		ArgsUsage: "(-f <file> | <kind> <name>...)",
		Flags: []ucli.Flag{filenameFlag(), namespaceFlag(),
			&ucli.BoolFlag{Name: "skip-not-exists", Usage: "do not fail on resources that do not exist"}},
		Action: runDelete,
	}
}

func runDelete(c *ucli.Context) error {
	args, err := positionals(c)
	if err != nil {
		return err
	}
	var targets []api.Resource
	switch {
	case c.String("filename") != "" && len(args) > 0:
		return fmt.Errorf("delete: give either -f <file> or <kind> <name>, not both")
	case c.String("filename") != "":
		if targets, err = readDocuments(c); err != nil {
			return err
		}
	case len(args) >= 2:
		k, err := lookupKind(args[0])
		if err != nil {
			return err
		}
		for _, n := range args[1:] {
			r := k.NewResource()
			r.GetObjectMeta().Name = n
			targets = append(targets, r)
		}
	default:
		return fmt.Errorf("delete: need -f <file> or <kind> <name>")
	}
	label := kindLabel(targets)
	cl, err := storeClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	deleted := 0
	for i, r := range targets {
		k, err := lookupKind(r.GetTypeMeta().Kind)
		if err != nil {
			return err
		}
		m := r.GetObjectMeta()
		_, err = cl.Delete(context.Background(), k.Kind, namespaceFor(c, k, m.Namespace), m.Name, "")
		if err == nil && k.Kind == "Node" {
			err = cleanupNode(context.Background(), cl, m.Name)
		}
		switch {
		case err == nil:
			deleted++
		case errors.Is(err, store.ErrNotFound) && c.Bool("skip-not-exists"):
		case i == 0:
			return fmt.Errorf("Failed to delete %sresource: [%v]", label, err)
		default:
			return fmt.Errorf("Partial success: deleted the first %d out of %d %sresources:\nHit error: %v", i, len(targets), label, err)
		}
	}
	fmt.Fprintf(c.App.Writer, "Successfully deleted %d %sresource(s)\n", deleted, label)
	return nil
}
