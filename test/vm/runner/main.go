// Command runner boots brindle's VM test suite: Debian's stock kernel under qemu (TCG, no NIC)
// with a busybox initramfs, and the scenarios test binary plus bin/brindle shared over 9p.
// Pass or fail comes from the guest's serial markers and qemu's isa-debug-exit code together;
// a hang fails on the timeout. Usage: see test/vm/Makefile.inc (make test-vm).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type options struct {
	Cache       string
	Scenarios   string
	Brindle     string
	Seed        string
	Run         string
	TestTimeout time.Duration
	Timeout     time.Duration
	MemMB       int
	CPUs        int
	KernelPkg   string
	Verbose     bool
}

func main() {
	var o options
	flag.StringVar(&o.Cache, "cache", "test/vm/.cache", "cache dir: kernel package, unpacked tree, initramfs, share")
	flag.StringVar(&o.Scenarios, "scenarios", "", "static test binary of test/vm/scenarios (CGO_ENABLED=0 go test -c); required")
	flag.StringVar(&o.Brindle, "brindle", "bin/brindle", "static brindle binary put in the guest as /mnt/brindle")
	flag.StringVar(&o.Seed, "seed", "test/fixtures/seed", "seed manifests put in the guest as /mnt/seed ($BRINDLE_SEED_DIR)")
	flag.StringVar(&o.Run, "run", "", "go test -run pattern for the scenarios (default: all)")
	flag.DurationVar(&o.TestTimeout, "test-timeout", 10*time.Minute, "go test -timeout inside the guest")
	flag.DurationVar(&o.Timeout, "timeout", 0, "kill qemu after this long (default test-timeout + 2m)")
	flag.IntVar(&o.MemMB, "mem", 2048, "guest memory in MiB (etcd, four brindle daemons and every temp dir live in RAM)")
	flag.IntVar(&o.CPUs, "smp", 2, "guest vCPUs (multi-threaded TCG: the agents start in parallel; 2 halved their start on this 2-core machine)")
	flag.StringVar(&o.KernelPkg, "kernel-pkg", "", "kernel package (default: what linux-image-amd64 depends on)")
	flag.BoolVar(&o.Verbose, "v", true, "go test -v in the guest")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "vm-test: FAIL: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.Scenarios == "" {
		return fmt.Errorf("-scenarios: the scenarios test binary is required")
	}
	if o.Timeout == 0 {
		o.Timeout = o.TestTimeout + 2*time.Minute
	}
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	k, err := fetchKernel(o.Cache, o.KernelPkg)
	if err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	tKernel := time.Since(t0)
	t1 := time.Now()
	initrd, built, err := initramfs(k, o.Cache)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	tInitrd := time.Since(t1)
	share, err := prepareShare(o)
	if err != nil {
		return fmt.Errorf("share: %w", err)
	}
	fmt.Printf("vm-test: kernel %s, initramfs %s (built now: %v), booting (timeout %s)\n",
		k.Package, filepath.Base(initrd), built, o.Timeout)
	res, err := boot(bootOptions{
		Vmlinux: k.Vmlinux, Initrd: initrd, Share: share, MemMB: o.MemMB, CPUs: o.CPUs, Timeout: o.Timeout,
		SerialLog: filepath.Join(o.Cache, "serial.log"), Out: os.Stdout,
	})
	if err != nil {
		return err
	}
	printTimings(tKernel, tInitrd, built, res)
	if !res.Pass {
		return fmt.Errorf("%s", res.Reason)
	}
	fmt.Printf("vm-test: PASS (qemu exit %d, %.1fs)\n", res.ExitCode, res.Elapsed.Seconds())
	return nil
}

func printTimings(kernel, initrd time.Duration, built bool, r *bootResult) {
	at := func(m string) string {
		if d, ok := r.Markers[m]; ok {
			return fmt.Sprintf("%.1fs", d.Seconds())
		}
		return "-"
	}
	how := "cached"
	if built {
		how = "built"
	}
	fmt.Printf("vm-test: timings: kernel fetch/unpack %.1fs, initramfs %.1fs (%s); from qemu start: /init %s, modules loaded %s, scenarios done %s, qemu exit %.1fs\n",
		kernel.Seconds(), initrd.Seconds(), how, at("VMTEST-BOOTED"), at("VMTEST-MODULES-LOADED"), at("VMTEST-END"), r.Elapsed.Seconds())
}
