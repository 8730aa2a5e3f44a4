package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	cases := []struct {
		o    outcome
		want string // substring of the reason; "" = pass
	}{
		{outcome{Verdict: "PASS", ExitCode: 1}, ""},
		{outcome{Verdict: "PASS", ExitCode: 0}, "qemu exited 0"},
		{outcome{Verdict: "FAIL rc=1", ExitCode: 3}, "guest reported FAIL rc=1"},
		{outcome{ExitCode: 0}, "no VMTEST-RESULT marker"},
		{outcome{TimedOut: true, Verdict: "PASS", ExitCode: 1}, "timed out"},
	}
	for _, c := range cases {
		got := judge(c.o)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("judge(%+v) = %q, want %q", c.o, got, c.want)
		}
	}
}

func TestModuleClosure(t *testing.T) {
	mods := map[string]modDep{
		"ipip":      {path: "kernel/net/ipv4/ipip.ko", deps: []string{"kernel/net/ipv4/tunnel4.ko", "kernel/net/ipv4/ip_tunnel.ko"}},
		"tunnel4":   {path: "kernel/net/ipv4/tunnel4.ko"},
		"ip_tunnel": {path: "kernel/net/ipv4/ip_tunnel.ko"},
		"veth":      {path: "kernel/drivers/net/veth.ko"},
	}
	got, err := moduleClosure(mods, []string{"ipip", "veth"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernel/drivers/net/veth.ko", "kernel/net/ipv4/ip_tunnel.ko", "kernel/net/ipv4/ipip.ko", "kernel/net/ipv4/tunnel4.ko"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("closure %v, want %v", got, want)
	}
	if _, err := moduleClosure(mods, []string{"wireguard"}); err == nil || !strings.Contains(err.Error(), "wireguard") {
		t.Errorf("missing module: err %v, want one naming wireguard", err)
	}
	if modName("kernel/net/9p/9pnet-virtio.ko") != "9pnet_virtio" {
		t.Errorf("modName does not normalise dashes")
	}
}

func TestLddPaths(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibmnl.so.0 => /lib/x86_64-linux-gnu/libmnl.so.0 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n"
	var got []string
	for _, m := range lddPath.FindAllStringSubmatch(out, -1) {
		got = append(got, m[1])
	}
	want := []string{"/lib/x86_64-linux-gnu/libmnl.so.0", "/lib64/ld-linux-x86-64.so.2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ldd paths %v, want %v", got, want)
	}
}

// TestInitramfsRoundTrip packs a small tree and unpacks it with busybox cpio, the same newc
// reader family the kernel uses.
func TestInitramfsRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("busybox"); err != nil {
		t.Skip("busybox-static not installed (scripts/setup.sh)")
	}
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "init"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "bin", "odd"), []byte("12345"), 0o644)) // needs padding
	must(t, os.Symlink("busybox", filepath.Join(src, "bin", "sh")))
	archive := filepath.Join(t.TempDir(), "initrd.gz")
	must(t, writeInitramfs(src, archive))
	dst := t.TempDir()
	cmd := exec.Command("sh", "-c", "gzip -dc "+archive+" | busybox cpio -i -d")
	cmd.Dir = dst
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unpacking: %v: %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "bin", "odd")); string(b) != "12345" {
		t.Errorf("bin/odd = %q", b)
	}
	if fi, err := os.Stat(filepath.Join(dst, "init")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("init: %v %v, want mode 0755", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "bin", "sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q (%v), want busybox", l, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
