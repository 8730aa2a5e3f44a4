package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every unit passes `systemd-analyze verify` (syntax, directives, that ExecStart exists).
func TestUnitsVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd; scripts/setup.sh does)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "brindle"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	names := Units()
	if len(names) < 2 {
		t.Fatalf("units %v, want brindle-node and brindle-datastore", names)
	}
	var paths []string
	for _, n := range names {
		b, err := Unit(n, bin)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "@BINDIR@") {
			t.Errorf("%s: @BINDIR@ left", n)
		}
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	// verify also checks the units they order against (network-online.target); those may be
	// missing in a container, so only lines about our files count.
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "brindle") {
			ours = append(ours, l)
		}
	}
	if len(ours) > 0 {
		t.Errorf("systemd-analyze verify (err %v):\n%s", err, strings.Join(ours, "\n"))
	}
	if err != nil && len(ours) == 0 {
		t.Logf("systemd-analyze verify exited %v with no complaint about brindle's units:\n%s", err, out)
	}
}
