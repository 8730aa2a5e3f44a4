package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// uninstallCommand is `brindle uninstall`: removes what the manifest says install wrote,
// puts back files install replaced with --force, and removes the directories it created
// if they are empty. Files changed since install wrote them are kept unless --force.
func uninstallCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "uninstall",
		Usage: "remove exactly what `brindle install` wrote (stopping and disabling its units)",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "root", Value: "/", Usage: "the tree install wrote into"},
			&ucli.BoolFlag{Name: "force", Usage: "also remove files changed since install wrote them"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "print what would be removed and change nothing"},
		},
		Action: func(c *ucli.Context) error {
			root, err := filepath.Abs(c.String("root"))
			if err != nil {
				return fmt.Errorf("--root: %w", err)
			}
			return runUninstall(c.App.Writer, root, c.Bool("force"), c.Bool("dry-run"))
		},
	}
}

func runUninstall(w io.Writer, root string, force, dryRun bool) error {
	m, err := loadManifest(root)
	if err != nil {
		return err
	}
	if len(m.Entries) == 0 && len(m.Dirs) == 0 {
		fmt.Fprintf(w, "nothing to remove: no %s under %s\n", manifestPath, root)
		return nil
	}
	var refused []string
	for _, e := range m.Entries {
		d, err := inspect(filepath.Join(root, e.Path))
		if err != nil {
			return err
		}
		if d.exists && !d.matches(e) && !force {
			refused = append(refused, e.Path+": changed since brindle install wrote it")
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("uninstall: nothing removed; --force removes these too:\n  %s", strings.Join(refused, "\n  "))
	}
	if root == "/" && !dryRun && systemdRunning() {
		var units []string
		for _, e := range m.Entries {
			if strings.HasPrefix(e.Path, "/etc/systemd/system/") && strings.HasSuffix(e.Path, ".service") &&
				!strings.Contains(e.Path, ".wants/") {
				units = append(units, filepath.Base(e.Path))
			}
		}
		if len(units) > 0 {
			// Stopping an agent leaves the kernel as it is (routes keep working), as felix does.
			if err := systemctl(w, append([]string{"stop"}, units...)...); err != nil {
				return err
			}
		}
	}
	verb := ""
	if dryRun {
		verb = "would "
	}
	// Reverse order: links before the files they point at.
	for i := len(m.Entries) - 1; i >= 0; i-- {
		e := m.Entries[i]
		full := filepath.Join(root, e.Path)
		if d, _ := inspect(full); d.exists {
			fmt.Fprintf(w, "%sremove    %s\n", verb, e.Path)
			if !dryRun {
				if err := os.Remove(full); err != nil {
					return err
				}
			}
		}
		if e.Saved != "" {
			fmt.Fprintf(w, "%srestore   %s\n", verb, e.Path)
			if !dryRun {
				if err := os.Rename(filepath.Join(root, e.Saved), full); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
		if !dryRun {
			m.Entries = m.Entries[:i]
			if err := saveManifestOnly(root, m); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(w, "%sremove    %s\n", verb, manifestPath)
	if dryRun {
		return nil
	}
	if err := os.Remove(filepath.Join(root, manifestPath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for i := len(m.Dirs) - 1; i >= 0; i-- {
		// Only if empty: something else may have put files there since.
		if err := os.Remove(filepath.Join(root, m.Dirs[i])); err == nil {
			fmt.Fprintf(w, "rmdir     %s\n", m.Dirs[i])
		}
	}
	if root == "/" && systemdRunning() {
		return systemctl(w, "daemon-reload")
	}
	return nil
}

// saveManifestOnly rewrites the manifest without creating directories (uninstall shrinks it
// as it goes, so an interrupted uninstall can be run again).
func saveManifestOnly(root string, m *manifest) error {
	return writeFileAtomic(filepath.Join(root, manifestPath), m.encode(), 0o644)
}
