package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
	"sigs.k8s.io/yaml"
)

// DefaultConfigFile is where calicoctl looks for its CalicoAPIConfig.
const DefaultConfigFile = "/etc/calico/calicoctl.cfg"

// calicoAPIConfig is calicoctl's config file, limited to the etcdv3 settings brindle uses.
// Unknown fields are rejected by name so that a typo (or a Kubernetes-only setting) is not
// silently ignored.
type calicoAPIConfig struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   map[string]any    `json:"metadata,omitempty"`
	Spec       calicoAPIConfigSp `json:"spec"`
}

type calicoAPIConfigSp struct {
	DatastoreType  string `json:"datastoreType,omitempty"`
	EtcdEndpoints  string `json:"etcdEndpoints,omitempty"`
	EtcdUsername   string `json:"etcdUsername,omitempty"`
	EtcdPassword   string `json:"etcdPassword,omitempty"`
	EtcdKeyFile    string `json:"etcdKeyFile,omitempty"`
	EtcdCertFile   string `json:"etcdCertFile,omitempty"`
	EtcdCACertFile string `json:"etcdCACertFile,omitempty"`
}

// loadConfigFile reads a CalicoAPIConfig. A missing file is reported as (nil, nil) only when
// the caller says it may be missing (the default path); a file named explicitly must exist.
func loadConfigFile(path string, mayBeMissing bool) (*store.Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && mayBeMissing {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var f calicoAPIConfig
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	bad := func(field string, got any, reason string) error {
		return fmt.Errorf("config file %s: %s: %s (got %v)", path, field, reason, got)
	}
	if f.APIVersion != api.Group {
		return nil, bad("apiVersion", f.APIVersion, "must be "+api.Group)
	}
	if f.Kind != "CalicoAPIConfig" {
		return nil, bad("kind", f.Kind, "must be CalicoAPIConfig")
	}
	if t := f.Spec.DatastoreType; t != "" && t != "etcdv3" {
		return nil, bad("spec.datastoreType", t, "brindle supports only etcdv3")
	}
	return &store.Config{
		Endpoints:  store.SplitEndpoints(f.Spec.EtcdEndpoints),
		Username:   f.Spec.EtcdUsername,
		Password:   f.Spec.EtcdPassword,
		KeyFile:    f.Spec.EtcdKeyFile,
		CertFile:   f.Spec.EtcdCertFile,
		CACertFile: f.Spec.EtcdCACertFile,
	}, nil
}

// mergeConfig fills every setting the flags and environment left empty from the config file,
// which gives the documented precedence: flag, then environment, then config file.
func mergeConfig(c *ucli.Context, cfg *store.Config) error {
	path := c.String("config")
	explicit := c.IsSet("config")
	if explicit && path == "" {
		return nil // --config "" turns the config file off
	}
	if path == "" {
		path = DefaultConfigFile
	}
	file, err := loadConfigFile(path, !explicit)
	if err != nil || file == nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && file.Password != "" && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(c.App.ErrWriter, "warning: %s holds etcdPassword and is readable by group or others (mode %#o); chmod 0600 it\n", path, fi.Mode().Perm())
	}
	if len(cfg.Endpoints) == 0 {
		cfg.Endpoints = file.Endpoints
	}
	fill := func(dst *string, src string) {
		if strings.TrimSpace(*dst) == "" {
			*dst = src
		}
	}
	fill(&cfg.CACertFile, file.CACertFile)
	fill(&cfg.CertFile, file.CertFile)
	fill(&cfg.KeyFile, file.KeyFile)
	fill(&cfg.Username, file.Username)
	fill(&cfg.Password, file.Password)
	return nil
}
