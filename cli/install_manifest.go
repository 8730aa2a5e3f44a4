package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// manifestPath is where `brindle install` records what it wrote, so that `uninstall`
// removes exactly that and a later install knows which files are its own.
const manifestPath = "/var/lib/brindle/install-manifest.json"

// manifest lists what install wrote under one root. Paths are absolute as seen from the
// root (what the host will see), not joined with --root.
type manifest struct {
	Version string          `json:"version"`
	Entries []manifestEntry `json:"entries"`
	// Dirs are the directories install created (deepest last); uninstall removes them if empty.
	Dirs []string `json:"dirs,omitempty"`
}

type manifestEntry struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`             // "file" or "symlink"
	SHA256 string `json:"sha256,omitempty"` // file content
	Target string `json:"target,omitempty"` // symlink target
	// Saved is where a file install replaced with --force was moved; uninstall puts it back.
	Saved string `json:"saved,omitempty"`
}

func loadManifest(root string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(root, manifestPath))
	if errors.Is(err, fs.ErrNotExist) {
		return &manifest{}, nil
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w (remove it to start afresh)", manifestPath, err)
	}
	return &m, nil
}

func (m *manifest) entry(path string) *manifestEntry {
	for i := range m.Entries {
		if m.Entries[i].Path == path {
			return &m.Entries[i]
		}
	}
	return nil
}

func (m *manifest) put(e manifestEntry) {
	if old := m.entry(e.Path); old != nil {
		if e.Saved == "" {
			e.Saved = old.Saved
		}
		*old = e
		return
	}
	m.Entries = append(m.Entries, e)
}

func (m *manifest) encode() []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// onDisk describes what is at path now: missing, a file with its digest, a symlink with
// its target, or something else (a directory).
type onDisk struct {
	exists bool
	kind   string
	sha    string
	target string
}

func inspect(full string) (onDisk, error) {
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		return onDisk{}, nil
	}
	if err != nil {
		return onDisk{}, err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		t, err := os.Readlink(full)
		return onDisk{exists: true, kind: "symlink", target: t}, err
	case fi.Mode().IsRegular():
		b, err := os.ReadFile(full)
		return onDisk{exists: true, kind: "file", sha: sum(b)}, err
	}
	return onDisk{exists: true, kind: fi.Mode().Type().String()}, nil
}

// matches reports whether what is on disk is what the entry describes.
func (d onDisk) matches(e manifestEntry) bool {
	return d.exists && d.kind == e.Kind && d.sha == e.SHA256 && d.target == e.Target
}

// writeFileAtomic writes via a temporary file and rename, so a reader (a container runtime
// loading the conflist) never sees half a file.
func writeFileAtomic(full string, data []byte, mode os.FileMode) error {
	tmp := full + ".brindle-tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, full); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func sameBytes(full string, data []byte) bool {
	b, err := os.ReadFile(full)
	return err == nil && bytes.Equal(b, data)
}
