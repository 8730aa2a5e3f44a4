package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/api"
	"go.uber.org/zap/zaptest"
)

func ref(name, key string) *api.BGPPassword {
	return &api.BGPPassword{SecretKeyRef: &api.SecretKeySelector{Name: name, Key: key}}
}

func writeSecret(t *testing.T, dir, name, key, value string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name, key)
	if err := os.WriteFile(p, []byte(value), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is masked by umask
		t.Fatal(err)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	writeSecret(t, dir, "tor", "pw", "s3cret\n", 0o600)
	writeSecret(t, dir, "tor", "two", "a\n\n", 0o400)
	writeSecret(t, dir, "open", "pw", "x", 0o644)
	writeSecret(t, dir, "empty", "pw", "\n", 0o600)
	writeSecret(t, dir, "long", "pw", strings.Repeat("k", 81), 0o600)
	yes := true
	opt := ref("absent", "pw")
	opt.SecretKeyRef.Optional = &yes
	cases := []struct {
		name        string
		pw          *api.BGPPassword
		value, prob string
	}{
		{"none", nil, "", ""},
		{"one trailing newline trimmed", ref("tor", "pw"), "s3cret", ""},
		{"only one newline trimmed", ref("tor", "two"), "a\n", ""},
		{"group/world readable refused", ref("open", "pw"), "", "mode 0644 lets group or others read it"},
		{"missing", ref("tor", "nope"), "", "no such file or directory"},
		{"optional and missing: no password", opt, "", ""},
		{"empty", ref("empty", "pw"), "", "empty"},
		{"longer than a TCP MD5 key", ref("long", "pw"), "", "at most 80"},
		{"path escape", ref("..", "passwd"), "", "must be non-empty"},
		{"separator in key", ref("tor", "../tor/pw"), "", "must be non-empty"},
	}
	s := newSecretFiles(dir, zaptest.NewLogger(t))
	for _, c := range cases {
		v, p := s.password(c.pw)
		if v != c.value || (c.prob == "") != (p == "") || !strings.Contains(p, c.prob) {
			t.Errorf("%s: got %q, problem %q; want %q, problem containing %q", c.name, v, p, c.value, c.prob)
		}
	}
}

// TestSecretFilesChanged: a rewrite, a chmod and the atomic symlink swap a Kubernetes secret
// volume does are all seen; files no longer referenced are not watched.
func TestSecretFilesChanged(t *testing.T) {
	dir := t.TempDir()
	// Kubernetes layout: <name>/pw -> ..data/pw, ..data -> ..v1
	sec := filepath.Join(dir, "tor")
	for _, v := range []string{"..v1", "..v2"} {
		if err := os.MkdirAll(filepath.Join(sec, v), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sec, v, "pw"), []byte("pw-"+v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("..v1", filepath.Join(sec, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/pw", filepath.Join(sec, "pw")); err != nil {
		t.Fatal(err)
	}
	writeSecret(t, dir, "mesh", "pw", "m1", 0o600)
	s := newSecretFiles(dir, zaptest.NewLogger(t))
	pass := func() (string, string) {
		s.begin()
		a, _ := s.password(ref("tor", "pw"))
		b, _ := s.password(ref("mesh", "pw"))
		return a, b
	}
	if a, b := pass(); a != "pw-..v1" || b != "m1" {
		t.Fatalf("first read %q %q", a, b)
	}
	if s.changed() {
		t.Fatal("changed with nothing changed")
	}
	tmp := filepath.Join(sec, "..data_tmp")
	if err := os.Symlink("..v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(sec, "..data")); err != nil {
		t.Fatal(err)
	}
	if !s.changed() {
		t.Fatal("symlink swap not seen")
	}
	if a, _ := pass(); a != "pw-..v2" {
		t.Fatalf("after swap %q", a)
	}
	writeSecret(t, dir, "mesh", "pw", "m1", 0o640)
	if !s.changed() {
		t.Fatal("chmod 640 not seen")
	}
	if _, b := pass(); b != "" {
		t.Fatalf("unsafe mode still gave %q", b)
	}
	s.begin() // nothing referenced any more
	writeSecret(t, dir, "mesh", "pw", "m2", 0o600)
	if s.changed() {
		t.Fatal("an unreferenced file is still watched")
	}
}

// TestCachePasswords: the BGPPeer's and the mesh's references reach peer derivation as a
// password or as the problem that holds the peering.
func TestCachePasswords(t *testing.T) {
	dir := t.TempDir()
	writeSecret(t, dir, "tor", "pw", "s3cret\n", 0o600)
	c := newCache("n1", true)
	c.secrets = newSecretFiles(dir, zaptest.NewLogger(t))
	c.peers["tor"] = &api.BGPPeer{ObjectMeta: api.ObjectMeta{Name: "tor"},
		Spec: api.BGPPeerSpec{PeerIP: "192.0.2.1", ASNumber: 65001, Password: ref("tor", "pw")}}
	c.bgpConfigs["default"] = &api.BGPConfiguration{ObjectMeta: api.ObjectMeta{Name: "default"},
		Spec: api.BGPConfigurationSpec{NodeMeshPassword: ref("mesh", "pw")}}
	in := c.bgpInput()
	if p := in.Peers[0]; p.Password != "s3cret" || p.PasswordProblem != "" {
		t.Errorf("peer: password %q problem %q", p.Password, p.PasswordProblem)
	}
	if g := in.Global; g.NodeMeshPassword != "" || !strings.Contains(g.NodeMeshPasswordProblem, "mesh/pw") {
		t.Errorf("mesh: password %q problem %q", g.NodeMeshPassword, g.NodeMeshPasswordProblem)
	}
}
