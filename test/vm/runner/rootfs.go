package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

//go:embed init.sh
var initScript []byte

// guestTools are Debian's own binaries copied with their libraries. Scenarios should prefer Go
// (test/testbed) but these help a human read a failing run: busybox's ip has no netns support,
// so guest scripts must call /usr/sbin/ip by its full path (busybox sh runs applets first).
var guestTools = []string{"/usr/sbin/ip", "/usr/sbin/nft", "/usr/bin/tcpdump"}

// buildRootfs lays out the initramfs tree in dir.
func buildRootfs(k *kernel, dir string) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev",
		"tmp", "mnt", "run/netns", "var", "root", "lib64"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := copyFile("/bin/busybox", filepath.Join(dir, "bin/busybox")); err != nil {
		return fmt.Errorf("busybox-static is needed (scripts/setup.sh installs it): %w", err)
	}
	links := map[string]string{
		"bin/sh":        "busybox", // /init is a script; the other applets are linked by /init
		"sbin/modprobe": "../bin/busybox",
		"var/run":       "../run", // netns names live in /var/run/netns
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	for _, t := range guestTools {
		if err := copyWithLibs(t, dir); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":  "root:x:0:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	// nft prints protocol 4 as "ipencap" with it, as on a real host.
	if err := copyFile("/etc/protocols", filepath.Join(dir, "etc/protocols")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "init"), initScript, 0o755); err != nil {
		return err
	}
	return installModules(k, dir)
}

var lddPath = regexp.MustCompile(`(?m)(?:=>\s*)?(/\S+)\s+\(0x`)

// copyWithLibs copies a dynamically linked binary and every library ldd names, at the same
// paths, so the guest needs no ld.so.cache.
func copyWithLibs(bin, rootfs string) error {
	out, err := exec.Command("ldd", bin).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ldd %s: %w: %s", bin, err, out)
	}
	paths := []string{bin}
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		paths = append(paths, m[1])
	}
	for _, p := range paths {
		if err := copyFile(p, filepath.Join(rootfs, p)); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src's content (following symlinks) with its permission bits.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}
