package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The key is made once with mode 0600, read back unchanged on the next start, a loose mode
// is tightened, and a file that is not a key is an error naming it (never replaced).
func TestWireguardKeyFile(t *testing.T) {
	dir := t.TempDir()
	k, created, err := loadWireguardKey(dir)
	if err != nil || !created {
		t.Fatalf("first load: created %v, err %v", created, err)
	}
	path := filepath.Join(dir, WireguardKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, err %v; want mode 0600", fi, err)
	}
	os.Chmod(path, 0o644)
	k2, created, err := loadWireguardKey(dir)
	if err != nil || created || k2 != k {
		t.Fatalf("second load: created %v, same key %v, err %v", created, k2 == k, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v not tightened to 0600", fi.Mode().Perm())
	}
	os.Remove(path)
	if k3, created, err := loadWireguardKey(dir); err != nil || !created || k3 == k {
		t.Fatalf("after deleting the file: a new key is wanted (created %v, err %v)", created, err)
	}
	os.WriteFile(path, []byte("not a key\n"), 0o600)
	if _, _, err := loadWireguardKey(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("corrupt file: %v, want an error naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key\n" {
		t.Errorf("the corrupt file was replaced")
	}
}
