package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// initramfs returns the cached initramfs for this kernel and these inputs, building it when any
// input changed. It holds no project binaries (they come over 9p), so it is rebuilt only when
// the kernel, the module lists, /init or a copied host tool changes.
func initramfs(k *kernel, cache string) (path string, built bool, err error) {
	h := sha256.New()
	fmt.Fprintln(h, "v1", k.Package, strings.Join(guestModules, ","), strings.Join(extraModules, ","))
	h.Write(initScript)
	for _, f := range append([]string{"/bin/busybox", "/etc/protocols"}, guestTools...) {
		fi, err := os.Stat(f)
		if err != nil {
			return "", false, fmt.Errorf("%s: %w", f, err)
		}
		fmt.Fprintln(h, f, fi.Size(), fi.ModTime().UnixNano())
	}
	path = filepath.Join(cache, "initrd-"+hex.EncodeToString(h.Sum(nil))[:12]+".gz")
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	}
	dir, err := os.MkdirTemp(cache, "rootfs-")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(dir)
	if err := buildRootfs(k, dir); err != nil {
		return "", false, err
	}
	if err := writeInitramfs(dir, path); err != nil {
		return "", false, err
	}
	return path, true, nil
}

// prepareShare fills <cache>/share, mounted at /mnt in the guest: the scenarios binary,
// brindle, and run.sh, which /init runs and whose exit status is the verdict.
func prepareShare(o options) (string, error) {
	share, err := filepath.Abs(filepath.Join(o.Cache, "share"))
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(share); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(share, "out"), 0o755); err != nil {
		return "", err
	}
	if err := copyFile(o.Scenarios, filepath.Join(share, "scenarios.test")); err != nil {
		return "", fmt.Errorf("scenarios binary: %w", err)
	}
	if _, err := os.Stat(o.Brindle); err == nil {
		if err := copyFile(o.Brindle, filepath.Join(share, "brindle")); err != nil {
			return "", err
		}
	} else {
		fmt.Printf("vm-test: note: %s not found (make build); scenarios that need it will fail\n", o.Brindle)
	}
	// The seed manifests the scenarios apply (test/fixtures/seed), as $BRINDLE_SEED_DIR.
	seeds, err := filepath.Glob(filepath.Join(o.Seed, "*.yaml"))
	if err != nil {
		return "", err
	}
	for _, f := range seeds {
		if err := copyFile(f, filepath.Join(share, "seed", filepath.Base(f))); err != nil {
			return "", fmt.Errorf("seed manifests: %w", err)
		}
	}
	verbose := ""
	if o.Verbose {
		verbose = "-test.v"
	}
	script := fmt.Sprintf(`#!/bin/sh
# Written by test/vm/runner for one run. BRINDLE_VM tells the scenarios they are in the VM.
# Binaries run from RAM: every exec from 9p re-reads the whole file (about 2 s for brindle
# under TCG, 0.2 s from /tmp), and the scenarios exec brindle hundreds of times.
cp /mnt/brindle /mnt/scenarios.test /tmp/ || exit 1
export BRINDLE_VM=1 BRINDLE_BIN=/tmp/brindle BRINDLE_SEED_DIR=/mnt/seed TMPDIR=/tmp
cd /tmp
/tmp/scenarios.test %s -test.timeout %s -test.run '%s'
`, verbose, o.TestTimeout, strings.ReplaceAll(o.Run, "'", ""))
	if err := os.WriteFile(filepath.Join(share, "run.sh"), []byte(script), 0o755); err != nil {
		return "", err
	}
	return share, nil
}
