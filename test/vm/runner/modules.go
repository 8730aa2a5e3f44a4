package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// guestModules are loaded by /init in this order. Everything the agent and the scenarios need
// that this kernel builds as a module (vm-ipip.md §1): ipip for tunl0, veth and bridge for the
// test bed, vxlan, tun, nf_tables with the NAT and conntrack pieces, xfrm_user because
// vishvananda/netlink opens NETLINK_XFRM by default, and virtio/9p for the shared directory.
// crc32c_generic comes first: libcrc32c only softdeps on crc32c, which busybox modprobe
// ignores, and without it every nf_tables load fails with "unknown symbol".
var guestModules = []string{
	"crc32c_generic", "ipip", "veth", "bridge", "vxlan", "tun", "dummy",
	"wireguard", // issue #17: wireguard.cali (the closure brings udp_tunnel, curve25519, chacha20poly1305)
	"nf_tables", "nft_nat", "nft_masq", "nft_chain_nat", "nft_ct", "nf_conntrack", "nf_nat",
	"xfrm_user", "virtio_pci", "9pnet_virtio", "9p",
}

// extraModules are copied with their dependencies but not loaded: the kernel autoloads them
// (nft expressions by their nft-expr-* aliases) when a rule uses them.
var extraModules = []string{
	"nft_reject_inet", "nft_reject_ipv4", "nft_fib_inet", "nft_fib_ipv4", "nft_limit",
	"nft_log", "nft_redir", "nft_numgen", "nft_hash", "nft_tunnel", "nft_meta_bridge",
}

// modDep maps a module name (underscores) to its path and dependency paths from modules.dep.
type modDep struct {
	path string
	deps []string
}

func modName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".ko")
	return strings.ReplaceAll(base, "-", "_")
}

// readModulesDep runs busybox depmod on the unpacked package (which ships no modules.dep;
// Debian's postinst makes it) and parses the result.
func readModulesDep(k *kernel) (map[string]modDep, error) {
	dep := filepath.Join(k.Root, "lib", "modules", k.Version, "modules.dep")
	if _, err := os.Stat(dep); err != nil {
		if out, err := exec.Command("busybox", "depmod", "-b", k.Root, k.Version).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("busybox depmod on %s: %w: %s", k.Root, err, out)
		}
	}
	f, err := os.Open(dep)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mods := map[string]modDep{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		mods[modName(path)] = modDep{path: path, deps: strings.Fields(rest)}
	}
	return mods, sc.Err()
}

// moduleClosure returns the sorted module paths needed to load every wanted module.
func moduleClosure(mods map[string]modDep, wanted []string) ([]string, error) {
	set := map[string]bool{}
	for _, w := range wanted {
		m, ok := mods[strings.ReplaceAll(w, "-", "_")]
		if !ok {
			return nil, fmt.Errorf("module %s is not in the kernel package (built in, renamed or missing?)", w)
		}
		set[m.path] = true
		for _, d := range m.deps {
			set[d] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// installModules copies the closure into the rootfs and runs busybox depmod there, which writes
// the text modules.dep and modules.alias that busybox modprobe and kernel autoload need.
func installModules(k *kernel, rootfs string) error {
	mods, err := readModulesDep(k)
	if err != nil {
		return err
	}
	paths, err := moduleClosure(mods, append(append([]string{}, guestModules...), extraModules...))
	if err != nil {
		return err
	}
	src := filepath.Join(k.Root, "lib", "modules", k.Version)
	dst := filepath.Join(rootfs, "lib", "modules", k.Version)
	for _, p := range append(paths, "modules.builtin", "modules.builtin.modinfo", "modules.order") {
		if err := copyFile(filepath.Join(src, p), filepath.Join(dst, p)); err != nil {
			return err
		}
	}
	if out, err := exec.Command("busybox", "depmod", "-b", rootfs, k.Version).CombinedOutput(); err != nil {
		return fmt.Errorf("busybox depmod on the initramfs tree: %w: %s", err, out)
	}
	return os.WriteFile(filepath.Join(rootfs, "etc", "vmtest-modules"), []byte(strings.Join(guestModules, "\n")+"\n"), 0o644)
}
