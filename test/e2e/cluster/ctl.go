package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// Ctl runs the brindle CLI (calicoctl verbs) against the datastore from the router
// namespace, which is where the datastore listens. stdin may be nil.
func (c *Cluster) Ctl(stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := testbed.RunOptions{Path: c.Bin, Args: args, Env: []string{"ETCD_ENDPOINTS=" + c.Endpoints}}
	if stdin != nil {
		o.Stdin = bytes.NewReader(stdin)
	}
	return c.Bed.Router.Run(ctx, o)
}

// Apply runs `brindle apply -f -` with the given manifest.
func (c *Cluster) Apply(manifest string) error {
	out, err := c.Ctl([]byte(manifest), "apply", "-f", "-")
	if err != nil {
		return fmt.Errorf("brindle apply: %w", err)
	}
	if !strings.Contains(out, "Successfully applied") {
		return fmt.Errorf("brindle apply: unexpected output %q", out)
	}
	return nil
}

// SeedDir finds test/fixtures/seed from the working directory or one of its parents (tests
// run in their package directory, the demo in the repository root).
func SeedDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "test", "fixtures", "seed")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("test/fixtures/seed not found above the working directory")
		}
		dir = parent
	}
}

// Seed returns one of the seed manifests (e.g. "default-ipv4-ippool.yaml") as text.
func Seed(name string) (string, error) {
	dir, err := SeedDir()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("seed manifest: %w", err)
	}
	return string(b), nil
}

// SetField replaces the value of a top-level-looking YAML field ("  ipipMode: X # comment")
// wherever it appears, keeping indentation. It fails if the field is absent, so a changed
// seed file is noticed instead of silently applied unchanged.
func SetField(doc, field, value string) (string, error) {
	re := regexp.MustCompile(`(?m)^(\s*` + regexp.QuoteMeta(field) + `:)[^\n]*$`)
	if !re.MatchString(doc) {
		return "", fmt.Errorf("seed manifest has no %q field", field)
	}
	return re.ReplaceAllString(doc, "${1} "+value), nil
}

// DropField removes lines holding field.
func DropField(doc, field string) string {
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(field) + `:[^\n]*\n?`)
	return re.ReplaceAllString(doc, "")
}
