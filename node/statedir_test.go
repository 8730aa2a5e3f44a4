package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureStateDirModes(t *testing.T) {
	root := t.TempDir()
	fresh := filepath.Join(root, "fresh", "calico")
	if err := EnsureStateDir(fresh); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o700 {
		t.Errorf("new state dir has mode %#o, want 0700", fi.Mode().Perm())
	}
	if err := WriteStateFile(fresh, "nodename", "n1"); err != nil {
		t.Fatal(err)
	}

	readable := filepath.Join(root, "readable")
	if err := os.Mkdir(readable, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(readable, 0o755)
	if err := EnsureStateDir(readable); err != nil {
		t.Errorf("a 0755 state dir (Calico's) is refused: %v", err)
	}

	for i, mode := range []os.FileMode{0o777, 0o775, 0o757} {
		d := filepath.Join(root, "w"+string(rune('a'+i)))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		err := EnsureStateDir(d)
		if err == nil || !strings.Contains(err.Error(), "writable by group or others") || !strings.Contains(err.Error(), "chmod 0700") {
			t.Errorf("mode %v: got %v, want a refusal that says chmod 0700", mode, err)
		}
	}
}
