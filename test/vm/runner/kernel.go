package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// kernel is Debian's kernel package unpacked in the cache.
type kernel struct {
	Package string // e.g. linux-image-6.1.0-56-amd64
	Version string // directory name under lib/modules, e.g. 6.1.0-56-amd64
	Root    string // dpkg -x output
	Vmlinux string // uncompressed ELF for qemu's PVH direct boot
}

// kernelPackage asks apt which versioned package the linux-image-amd64 metapackage depends on.
func kernelPackage() (string, error) {
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends linux-image-amd64: %w: %s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("apt-cache depends linux-image-amd64 names no linux-image-* package:\n%s", out)
}

// fetchKernel downloads (once) and unpacks (once) the kernel package into cache.
func fetchKernel(cache, pkg string) (*kernel, error) {
	if pkg == "" {
		var err error
		if pkg, err = kernelPackage(); err != nil {
			return nil, err
		}
	}
	debs, _ := filepath.Glob(filepath.Join(cache, pkg+"_*.deb"))
	if len(debs) == 0 {
		cmd := exec.Command("apt-get", "download", "-q", pkg)
		cmd.Dir = cache
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("apt-get download %s: %w: %s", pkg, err, out)
		}
		if debs, _ = filepath.Glob(filepath.Join(cache, pkg+"_*.deb")); len(debs) == 0 {
			return nil, fmt.Errorf("apt-get download %s left no %s_*.deb in %s", pkg, pkg, cache)
		}
	}
	k := &kernel{Package: pkg, Root: filepath.Join(cache, "kernel", pkg)}
	if _, err := os.Stat(filepath.Join(k.Root, ".unpacked")); err != nil {
		tmp := k.Root + ".tmp"
		os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return nil, err
		}
		if out, err := exec.Command("dpkg", "-x", debs[len(debs)-1], tmp).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("dpkg -x %s: %w: %s", debs[len(debs)-1], err, out)
		}
		if err := os.WriteFile(filepath.Join(tmp, ".unpacked"), nil, 0o644); err != nil {
			return nil, err
		}
		os.RemoveAll(k.Root)
		if err := os.Rename(tmp, k.Root); err != nil {
			return nil, err
		}
	}
	vers, _ := os.ReadDir(filepath.Join(k.Root, "lib", "modules"))
	if len(vers) != 1 {
		return nil, fmt.Errorf("%s: want exactly one lib/modules/<version>, found %d", k.Root, len(vers))
	}
	k.Version = vers[0].Name()
	k.Vmlinux = filepath.Join(k.Root, "vmlinux")
	if _, err := os.Stat(k.Vmlinux); err != nil {
		if err := extractVmlinux(filepath.Join(k.Root, "boot", "vmlinuz-"+k.Version), k.Vmlinux); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// extractVmlinux pulls the XZ payload out of a bzImage. qemu boots the ELF vmlinux directly
// through its PVH note in about half the time of the bzImage, whose firmware stage and XZ
// decompression run slowly under TCG (5 s vs 10 s to /init, see vm-ipip.md).
func extractVmlinux(bzImage, out string) error {
	img, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	off := bytes.Index(img, []byte("\xfd7zXZ\x00"))
	if off < 0 {
		return fmt.Errorf("%s: no XZ payload found (is the kernel compressed differently?)", bzImage)
	}
	cmd := exec.Command("xz", "-dc")
	cmd.Stdin = bytes.NewReader(img[off:])
	var elf, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &elf, &stderr
	// xz complains about the bzImage bytes after the stream and exits non-zero; the ELF is
	// complete by then, so judge the output, not the exit code.
	runErr := cmd.Run()
	if elf.Len() < 1<<20 || !bytes.HasPrefix(elf.Bytes(), []byte("\x7fELF")) {
		return fmt.Errorf("xz -dc of %s gave no ELF (%v): %s", bzImage, runErr, stderr.String())
	}
	if err := os.WriteFile(out+".tmp", elf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(out+".tmp", out)
}
