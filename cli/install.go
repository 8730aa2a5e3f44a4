package cli

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// installCommand is `brindle install`: the binary, the CNI links and conflist, calicoctl's
// config, the units' environment and the systemd units, recorded in a manifest so that
// `brindle uninstall` removes exactly that. Running it again changes only what differs.
func installCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "install",
		Usage: "install brindle on this host: binary, CNI plugin links and conflist, calicoctl.cfg, systemd units (enabled, started with --now)",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "root", Value: "/", Usage: "install into this directory tree (packaging, tests)"},
			&ucli.StringFlag{Name: "prefix", Value: "/usr/local", Usage: "the binary goes to <prefix>/bin"},
			&ucli.StringFlag{Name: "binary", Usage: "the brindle binary to install (default: this one)"},
			&ucli.StringFlag{Name: "cni-bin-dir", Value: "/opt/cni/bin", Usage: "CNI plugin directory (/usr/lib/cni also gets links when it exists)"},
			&ucli.StringFlag{Name: "cni-net-dir", Value: "/etc/cni/net.d", Usage: "CNI network configuration directory"},
			&ucli.BoolFlag{Name: "datastore", Usage: "also enable brindle-datastore.service (an embedded etcd member on this host)"},
			&ucli.BoolFlag{Name: "docker-plugin", Usage: "also enable brindle-docker-plugin.service (Docker network and IPAM driver, docs/docker.md)"},
			&ucli.BoolFlag{Name: "now", Usage: "also start the enabled units (only with --root /)"},
			&ucli.BoolFlag{Name: "force", Usage: "replace files brindle install did not write (they are kept as <file>.brindle-saved and restored by uninstall)"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "print what would be written and change nothing"},
		},
		Action: runInstall,
	}
}

func runInstall(c *ucli.Context) error {
	o, err := installOptionsFrom(c)
	if err != nil {
		return err
	}
	if c.Bool("now") && o.root != "/" {
		return fmt.Errorf("--now: starts units on this host, so it needs --root / (got %s)", o.root)
	}
	items, err := installPlan(o)
	if err != nil {
		return err
	}
	m, err := loadManifest(o.root)
	if err != nil {
		return err
	}
	w := c.App.Writer
	if err := applyInstall(w, o.root, items, m, c.Bool("force"), c.Bool("dry-run")); err != nil {
		return err
	}
	if c.Bool("dry-run") || o.root != "/" || !systemdRunning() {
		return nil
	}
	if err := systemctl(w, "daemon-reload"); err != nil {
		return err
	}
	if c.Bool("now") {
		units := []string{"brindle-node.service"}
		if o.datastore {
			units = append([]string{"brindle-datastore.service"}, units...)
		}
		if o.dockerPlugin {
			units = append(units, "brindle-docker-plugin.service")
		}
		return systemctl(w, append([]string{"start"}, units...)...)
	}
	fmt.Fprintln(w, "enabled; start with: systemctl start brindle-node")
	return nil
}

func installOptionsFrom(c *ucli.Context) (installOptions, error) {
	root, err := filepath.Abs(c.String("root"))
	if err != nil {
		return installOptions{}, fmt.Errorf("--root: %w", err)
	}
	o := installOptions{root: root, binDir: filepath.Join(c.String("prefix"), "bin"),
		cniBinDir: c.String("cni-bin-dir"), cniNetDir: c.String("cni-net-dir"), datastore: c.Bool("datastore"), dockerPlugin: c.Bool("docker-plugin")}
	for flag, v := range map[string]string{"prefix": o.binDir, "cni-bin-dir": o.cniBinDir, "cni-net-dir": o.cniNetDir} {
		if !filepath.IsAbs(v) {
			return o, fmt.Errorf("--%s %q: must be an absolute path", flag, v)
		}
	}
	o.binary = c.String("binary")
	if o.binary == "" {
		if o.binary, err = os.Executable(); err != nil {
			return o, fmt.Errorf("finding this binary: %w (use --binary)", err)
		}
	}
	src, _ := filepath.EvalSymlinks(o.binary)
	dst, _ := filepath.EvalSymlinks(filepath.Join(root, o.binDir, "brindle"))
	if src != "" && src == dst {
		o.binary = "" // already where it belongs
	}
	if o.etcd, err = storeConfig(c); err != nil {
		return o, err
	}
	if len(o.etcd.Endpoints) == 0 {
		o.etcd.Endpoints = []string{"http://127.0.0.1:2379"}
	}
	for _, e := range o.etcd.Endpoints {
		if !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
			return o, fmt.Errorf("--etcd-endpoints %q: each endpoint must be an http:// or https:// URL", e)
		}
	}
	return o, nil
}

// applyInstall writes the items under root, refusing (before writing anything) to replace
// what install did not write unless force; dry-run only prints.
func applyInstall(w io.Writer, root string, items []installItem, m *manifest, force, dryRun bool) error {
	type step struct {
		it   installItem
		op   string // create, update, replace, unchanged
		save bool   // move the existing file aside first
	}
	var steps []step
	var refused []string
	for _, it := range items {
		full := filepath.Join(root, it.path)
		d, err := inspect(full)
		if err != nil {
			return err
		}
		want := manifestEntry{Path: it.path, Kind: it.kind, Target: it.target}
		if it.kind == "file" {
			want.SHA256 = sum(it.data)
		}
		own := m.entry(it.path)
		switch {
		case !d.exists:
			steps = append(steps, step{it: it, op: "create"})
		case d.matches(want):
			steps = append(steps, step{it: it, op: "unchanged"})
		case d.kind != "file" && d.kind != "symlink":
			refused = append(refused, fmt.Sprintf("%s: is a %s; remove it first", it.path, d.kind))
		case own != nil && d.matches(*own):
			steps = append(steps, step{it: it, op: "update"})
		case !force && own != nil:
			refused = append(refused, it.path+": changed since brindle install wrote it")
		case !force:
			refused = append(refused, it.path+": exists and was not written by brindle install")
		default:
			steps = append(steps, step{it: it, op: "replace", save: own == nil})
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("install: nothing written; --force replaces these (keeping each as <file>.brindle-saved):\n  %s", strings.Join(refused, "\n  "))
	}
	for _, s := range steps {
		desc := s.it.path
		if s.it.kind == "symlink" {
			desc += " -> " + s.it.target
		}
		if dryRun {
			fmt.Fprintf(w, "would %-9s %s\n", s.op, desc)
			continue
		}
		if s.op == "unchanged" {
			continue // recorded already, or identical and not ours (left out of the manifest)
		}
		fmt.Fprintf(w, "%-9s %s\n", s.op, desc)
		e, err := writeItem(root, s.it, s.save, m)
		if err != nil {
			return fmt.Errorf("%s: %w (what was written so far is in %s)", s.it.path, err, manifestPath)
		}
		m.put(e)
		if err := saveManifest(root, m); err != nil {
			return err
		}
	}
	if dryRun {
		fmt.Fprintf(w, "would record them in %s\n", manifestPath)
	}
	return nil
}

// writeItem writes one item, creating (and recording) missing directories.
func writeItem(root string, it installItem, save bool, m *manifest) (manifestEntry, error) {
	full := filepath.Join(root, it.path)
	if err := mkdirs(root, filepath.Dir(it.path), m); err != nil {
		return manifestEntry{}, err
	}
	e := manifestEntry{Path: it.path, Kind: it.kind, Target: it.target}
	if save {
		e.Saved = it.path + ".brindle-saved"
		if err := os.Rename(full, filepath.Join(root, e.Saved)); err != nil {
			return e, err
		}
	}
	if it.kind == "symlink" {
		_ = os.Remove(full)
		return e, os.Symlink(it.target, full)
	}
	e.SHA256 = sum(it.data)
	if fi, err := os.Lstat(full); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		_ = os.Remove(full) // never write through a link to somewhere else
	}
	return e, writeFileAtomic(full, it.data, it.mode)
}

// mkdirs creates dir (as seen from root) and its missing parents, recording each.
func mkdirs(root, dir string, m *manifest) error {
	if dir == "/" || dir == "." {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(root, dir)); err == nil {
		return nil
	}
	if err := mkdirs(root, filepath.Dir(dir), m); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(root, dir), 0o755); err != nil {
		return err
	}
	m.Dirs = append(m.Dirs, dir)
	return nil
}

func saveManifest(root string, m *manifest) error {
	m.Version = Version
	if err := mkdirs(root, filepath.Dir(manifestPath), m); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(root, manifestPath), m.encode(), 0o644)
}

// systemdRunning reports whether systemd manages this host (sd_booted(3)).
func systemdRunning() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

func systemctl(w io.Writer, args ...string) error {
	fmt.Fprintln(w, "systemctl", strings.Join(args, " "))
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
