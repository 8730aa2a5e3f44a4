package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/deploy"
)

// snapshot maps every path under root to what it is: mode, and content digest or link target.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			tgt, _ := os.Readlink(p)
			v += " -> " + tgt
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[strings.TrimPrefix(p, root)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffSnapshots(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: %q -> %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: new %q", k, v))
		}
	}
	return d
}

// brindle runs the CLI in-process and returns its output.
func brindle(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := NewApp("brindle")
	app.Writer, app.ErrWriter = &out, &out
	// An empty calicoctl config, so that the host's /etc/calico/calicoctl.cfg plays no part.
	cfg := filepath.Join(t.TempDir(), "calicoctl.cfg")
	if err := os.WriteFile(cfg, []byte("apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := app.Run(append([]string{"brindle", "--config", cfg}, args...))
	return out.String(), err
}

// scratchRoot is a root with a few files of the host's that install must leave alone, and
// Debian's /usr/lib/cni (so the second set of links is made).
func scratchRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for p, body := range map[string]string{"/etc/hostname": "h1\n", "/opt/cni/bin/portmap": "plugin", "/usr/lib/cni/bandwidth": "plugin"} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func selfBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// Install into a scratch root writes every file, the CNI links resolve to the installed
// binary and run as the CNI plugins, a second run changes nothing, and uninstall leaves the
// root exactly as it was.
func TestInstallUninstallScratchRoot(t *testing.T) {
	root := scratchRoot(t)
	before := snapshot(t, root)
	self := selfBinary(t)
	out, err := brindle(t, "--etcd-endpoints", "http://192.0.2.10:2379,http://192.0.2.11:2379", "install", "--root", root, "--binary", self)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	t.Logf("install:\n%s", out)

	bin := filepath.Join(root, "/usr/local/bin/brindle")
	if b, _ := os.ReadFile(bin); !bytes.Equal(b, mustRead(t, self)) {
		t.Error("installed binary differs from the source")
	}
	for _, dir := range []string{"/opt/cni/bin", "/usr/lib/cni"} {
		for _, name := range []string{"calico", "calico-ipam"} {
			link := filepath.Join(root, dir, name)
			got, err := filepath.EvalSymlinks(link)
			if want, _ := filepath.EvalSymlinks(bin); err != nil || got != want {
				t.Errorf("%s resolves to %q (%v), want %s", link, got, err, want)
			}
			// CNI's VERSION command, as a runtime probes a plugin.
			cmd := exec.Command(link)
			cmd.Env = append(os.Environ(), "CNI_COMMAND=VERSION")
			cmd.Stdin = strings.NewReader(`{"cniVersion":"0.3.1"}`)
			res, err := cmd.Output()
			var v struct {
				CNIVersion        string   `json:"cniVersion"`
				SupportedVersions []string `json:"supportedVersions"`
			}
			if err != nil || json.Unmarshal(res, &v) != nil || !contains(v.SupportedVersions, "0.3.1") || !contains(v.SupportedVersions, "1.0.0") {
				t.Errorf("%s VERSION: %v %s", link, err, res)
			}
		}
	}
	var conf struct {
		Name       string           `json:"name"`
		CNIVersion string           `json:"cniVersion"`
		Plugins    []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(root, "/etc/cni/net.d/10-calico.conflist")), &conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.Plugins) != 3 || conf.Plugins[0]["type"] != "calico" || conf.Plugins[1]["type"] != "portmap" ||
		conf.Plugins[2]["type"] != "bandwidth" || conf.Plugins[0]["etcd_endpoints"] != "http://192.0.2.10:2379,http://192.0.2.11:2379" ||
		conf.Plugins[0]["datastore_type"] != "etcdv3" || conf.CNIVersion != "0.3.1" {
		t.Errorf("conflist: %+v", conf)
	}
	cfg, err := loadConfigFile(filepath.Join(root, DefaultConfigFile), false)
	if err != nil || len(cfg.Endpoints) != 2 || cfg.Endpoints[0] != "http://192.0.2.10:2379" {
		t.Errorf("calicoctl.cfg: %+v %v", cfg, err)
	}
	env := filepath.Join(root, "/etc/brindle/brindle.env")
	if fi, err := os.Stat(env); err != nil || fi.Mode().Perm() != 0o600 ||
		!strings.Contains(string(mustRead(t, env)), "\nETCD_ENDPOINTS=http://192.0.2.10:2379,http://192.0.2.11:2379\n") {
		t.Errorf("env file: %v %v\n%s", fi, err, mustRead(t, env))
	}
	for _, name := range deploy.Units() {
		want, _ := deploy.Unit(name, "/usr/local/bin")
		if got := mustRead(t, filepath.Join(root, "/etc/systemd/system", name)); !bytes.Equal(got, want) {
			t.Errorf("%s differs from the embedded unit", name)
		}
	}
	// Enabled as systemctl enables: a link in multi-user.target.wants; the datastore unit
	// only with --datastore.
	if tgt, err := os.Readlink(filepath.Join(root, "/etc/systemd/system/multi-user.target.wants/brindle-node.service")); err != nil ||
		tgt != "/etc/systemd/system/brindle-node.service" {
		t.Errorf("brindle-node not enabled: %q %v", tgt, err)
	}
	for unit, flag := range map[string]string{"brindle-datastore.service": "--datastore", "brindle-docker-plugin.service": "--docker-plugin"} {
		if _, err := os.Lstat(filepath.Join(root, "/etc/systemd/system/multi-user.target.wants", unit)); err == nil {
			t.Errorf("%s enabled without %s", unit, flag)
		}
	}

	installed := snapshot(t, root)
	out, err = brindle(t, "--etcd-endpoints", "http://192.0.2.10:2379,http://192.0.2.11:2379", "install", "--root", root, "--binary", self)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("second install: %v, output %q (want no changes)", err, out)
	}
	if d := diffSnapshots(installed, snapshot(t, root)); len(d) > 0 {
		t.Errorf("second install changed the root: %v", d)
	}

	out, err = brindle(t, "uninstall", "--root", root)
	if err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if d := diffSnapshots(before, snapshot(t, root)); len(d) > 0 {
		t.Errorf("uninstall left the root different from before install:\n%s\n%s", strings.Join(d, "\n"), out)
	}
	if out, err := brindle(t, "uninstall", "--root", root); err != nil || !strings.Contains(out, "nothing to remove") {
		t.Errorf("second uninstall: %v %q", err, out)
	}
}

// --dry-run prints every file and writes nothing.
func TestInstallDryRun(t *testing.T) {
	root := scratchRoot(t)
	before := snapshot(t, root)
	out, err := brindle(t, "install", "--root", root, "--binary", selfBinary(t), "--dry-run", "--datastore", "--docker-plugin")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/usr/local/bin/brindle", "/opt/cni/bin/calico ->", "/usr/lib/cni/calico-ipam ->", "/etc/cni/net.d/10-calico.conflist",
		"/etc/calico/calicoctl.cfg", "/etc/brindle/brindle.env", "/etc/systemd/system/brindle-node.service",
		"/etc/systemd/system/multi-user.target.wants/brindle-datastore.service",
		"/etc/systemd/system/multi-user.target.wants/brindle-docker-plugin.service", manifestPath} {
		if !strings.Contains(out, p) {
			t.Errorf("dry run does not mention %s:\n%s", p, out)
		}
	}
	if d := diffSnapshots(before, snapshot(t, root)); len(d) > 0 {
		t.Errorf("dry run wrote: %v", d)
	}
	if _, err := brindle(t, "install", "--root", root, "--now"); err == nil || !strings.Contains(err.Error(), "--now") {
		t.Errorf("--now with a scratch root: %v", err)
	}
}

// A file install did not write is not replaced without --force (nothing at all is written
// then); with --force it is kept aside and uninstall puts it back. A file changed after
// install is not removed by uninstall without --force.
func TestInstallRefusesForeignFiles(t *testing.T) {
	root := scratchRoot(t)
	foreign := filepath.Join(root, DefaultConfigFile)
	if err := os.MkdirAll(filepath.Dir(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(foreign, []byte("# the admin's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	self := selfBinary(t)
	_, err := brindle(t, "install", "--root", root, "--binary", self)
	if err == nil || !strings.Contains(err.Error(), DefaultConfigFile+": exists and was not written by brindle install") {
		t.Fatalf("install over a foreign file: %v", err)
	}
	if d := diffSnapshots(before, snapshot(t, root)); len(d) > 0 {
		t.Errorf("a refused install wrote: %v", d)
	}
	if out, err := brindle(t, "install", "--root", root, "--binary", self, "--force"); err != nil || !strings.Contains(out, "replace   "+DefaultConfigFile) {
		t.Fatalf("install --force: %v\n%s", err, out)
	}
	conflist := filepath.Join(root, "/etc/cni/net.d/10-calico.conflist")
	if err := os.WriteFile(conflist, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := brindle(t, "uninstall", "--root", root); err == nil || !strings.Contains(err.Error(), "10-calico.conflist: changed since") {
		t.Fatalf("uninstall over a changed file: %v", err)
	}
	if _, err := brindle(t, "install", "--root", root, "--binary", self); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Errorf("install over a changed file of its own: %v", err)
	}
	if out, err := brindle(t, "uninstall", "--root", root, "--force"); err != nil {
		t.Fatalf("uninstall --force: %v\n%s", err, out)
	}
	if d := diffSnapshots(before, snapshot(t, root)); len(d) > 0 {
		t.Errorf("after uninstall --force the root differs from before install: %v", d)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
