package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
)

func writeConfig(t *testing.T, spec string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "calicoctl.cfg")
	body := "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata: {}\nspec:\n" + spec
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// resolve runs the real global flags and returns the store settings they resolve to.
func resolve(t *testing.T, args ...string) (store.Config, error) {
	t.Helper()
	var cfg store.Config
	var err error
	app := &ucli.App{Flags: globalFlags(), Action: func(c *ucli.Context) error {
		cfg, err = storeConfig(c)
		return nil
	}}
	if runErr := app.Run(append([]string{"brindle"}, args...)); runErr != nil {
		t.Fatal(runErr)
	}
	return cfg, err
}

func TestConfigPrecedence(t *testing.T) {
	for _, v := range []string{"ETCD_ENDPOINTS", "ETCD_CA_CERT_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_USERNAME", "ETCD_PASSWORD"} {
		t.Setenv(v, "")
	}
	file := writeConfig(t, `  datastoreType: etcdv3
  etcdEndpoints: http://10.0.0.1:2379,http://10.0.0.2:2379
  etcdCACertFile: /file/ca.pem
  etcdCertFile: /file/cert.pem
  etcdKeyFile: /file/key.pem
`)
	fromFile := store.Config{Endpoints: []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379"},
		CACertFile: "/file/ca.pem", CertFile: "/file/cert.pem", KeyFile: "/file/key.pem"}
	got, err := resolve(t, "--config", file)
	if err != nil || !reflect.DeepEqual(got, fromFile) {
		t.Errorf("file only: %+v, %v; want %+v", got, err, fromFile)
	}

	// Environment beats the file, field by field.
	t.Setenv("ETCD_ENDPOINTS", "http://10.9.9.9:2379")
	t.Setenv("ETCD_CA_CERT_FILE", "/env/ca.pem")
	want := fromFile
	want.Endpoints, want.CACertFile = []string{"http://10.9.9.9:2379"}, "/env/ca.pem"
	if got, err = resolve(t, "--config", file); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("env over file: %+v, %v; want %+v", got, err, want)
	}

	// Flags beat the environment.
	want.Endpoints, want.CACertFile = []string{"http://127.0.0.9:1"}, "/flag/ca.pem"
	if got, err = resolve(t, "--etcd-endpoints", "http://127.0.0.9:1", "--etcd-ca-cert-file", "/flag/ca.pem", "--config", file); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("flag over env: %+v, %v; want %+v", got, err, want)
	}

	// --config "" turns the file off.
	if got, err = resolve(t, "--config", ""); err != nil || got.CertFile != "" {
		t.Errorf(`--config "": %+v, %v`, got, err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	if _, err := resolve(t, "--config", filepath.Join(t.TempDir(), "absent.cfg")); err == nil || !strings.Contains(err.Error(), "absent.cfg") {
		t.Errorf("a missing explicit config file: %v", err)
	}
	if cfg, err := loadConfigFile(filepath.Join(t.TempDir(), "absent.cfg"), true); cfg != nil || err != nil {
		t.Errorf("a missing default config file must be fine: %v %v", cfg, err)
	}
	for spec, want := range map[string]string{
		"  datastoreType: kubernetes\n":       "spec.datastoreType",
		"  etcdEndpoint: http://x:2379\n":     "etcdEndpoint",
		"  etcdEndpoints: [not, a, string]\n": "etcdEndpoints",
	} {
		if _, err := resolve(t, "--config", writeConfig(t, spec)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config spec %q: error %v lacks %q", spec, err, want)
		}
	}
	p := filepath.Join(t.TempDir(), "wrongkind.cfg")
	os.WriteFile(p, []byte("apiVersion: projectcalico.org/v3\nkind: IPPool\nspec: {}\n"), 0o600)
	if _, err := resolve(t, "--config", p); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("wrong kind: %v", err)
	}
}

// TestConfigFileReachesDatastore runs a real verb with only the config file saying where etcd is.
func TestConfigFileReachesDatastore(t *testing.T) {
	e := newCLIEnv(t)
	file := writeConfig(t, "  datastoreType: etcdv3\n  etcdEndpoints: "+e.endpoints+"\n")
	r := runApp(poolsYAML, "brindle", "--config", file, "apply", "-f", "-")
	if r.err != nil {
		t.Fatalf("apply with a config file: %v", r.err)
	}
	if _, err := e.store.Get(t.Context(), "IPPool", "", "pool-a"); err != nil {
		t.Fatalf("pool not written through the config file's endpoints: %v", err)
	}
}
