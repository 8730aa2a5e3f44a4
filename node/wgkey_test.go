package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/calc"
)

// The key is made once with mode 0600, read back unchanged on the next start, a loose mode
// is tightened, and a file that is not a key is an error naming it (never replaced).
func TestWireguardKeyFile(t *testing.T) {
	dir := t.TempDir()
	k, created, err := loadWireguardKey(dir, WireguardKeyFile)
	if err != nil || !created {
		t.Fatalf("first load: created %v, err %v", created, err)
	}
	path := filepath.Join(dir, WireguardKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, err %v; want mode 0600", fi, err)
	}
	os.Chmod(path, 0o644)
	k2, created, err := loadWireguardKey(dir, WireguardKeyFile)
	if err != nil || created || k2 != k {
		t.Fatalf("second load: created %v, same key %v, err %v", created, k2 == k, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v not tightened to 0600", fi.Mode().Perm())
	}
	os.Remove(path)
	if k3, created, err := loadWireguardKey(dir, WireguardKeyFile); err != nil || !created || k3 == k {
		t.Fatalf("after deleting the file: a new key is wanted (created %v, err %v)", created, err)
	}
	os.WriteFile(path, []byte("not a key\n"), 0o600)
	if _, _, err := loadWireguardKey(dir, WireguardKeyFile); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("corrupt file: %v, want an error naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key\n" {
		t.Errorf("the corrupt file was replaced")
	}
}

// The IPv6 device's key is a file and a key of its own.
func TestWireguardKeyFileV6(t *testing.T) {
	dir := t.TempDir()
	k4, _, err := loadWireguardKey(dir, wireguardKeyFile(calc.WireguardV4))
	if err != nil {
		t.Fatal(err)
	}
	k6, created, err := loadWireguardKey(dir, wireguardKeyFile(calc.WireguardV6))
	if err != nil || !created || k6 == k4 {
		t.Fatalf("IPv6 key: created %v, same as IPv4 %v, err %v", created, k6 == k4, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wireguard-private-key-v6")); err != nil {
		t.Fatal(err)
	}
}
