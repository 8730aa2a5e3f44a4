package benchcni

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// plugin is one build of brindle installed as `calico` and `calico-ipam` in its own CNI_PATH
// directory, as a runtime finds it.
type plugin struct {
	label string
	dir   string // CNI_PATH
	bin   string // dir/calico
}

// leanBinary is bin/brindle, the file users install. BENCH_CNI_BIN names an existing one;
// otherwise the benchmark runs `make build` first, so the figures are for this tree.
func leanBinary(b *testing.B) string {
	if p := os.Getenv("BENCH_CNI_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			b.Fatalf("BENCH_CNI_BIN: %v", err)
		}
		return p
	}
	cmd := exec.Command("make", "build")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("make build: %v\n%s", err, out)
	}
	return "../../bin/brindle"
}

// goBuild builds pkg (relative to the module root) into dir/name.
func goBuild(b *testing.B, dir, name, pkg string) string {
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build %s: %v %s", pkg, err, o)
	}
	return out
}

// install copies bin into a fresh directory as brindle, with calico and calico-ipam links.
func install(b *testing.B, root, label, bin string) plugin {
	dir := filepath.Join(root, label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(dir, "brindle")
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, l := range []string{"calico", "calico-ipam"} {
		if err := os.Symlink("brindle", filepath.Join(dir, l)); err != nil {
			b.Fatal(err)
		}
	}
	return plugin{label: label, dir: dir, bin: filepath.Join(dir, "calico")}
}

// sample is one process's cost: wall time from fork to exit, and the CPU time (user+system)
// it used, which the machine's load disturbs far less.
type sample struct{ wall, cpu time.Duration }

// run starts one process and returns what it cost.
func run(b *testing.B, env []string, stdin []byte, prog string, args ...string) sample {
	cmd := exec.Command(prog, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Errorf("%s %v: %v\n%s\n%s", prog, args, err, so.String(), se.String())
	}
	out := sample{wall: d}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		out.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return out
}

// loadavg is /proc/loadavg's first three fields: the machine load during the run.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	var a, b5, c string
	fmt.Sscan(string(b), &a, &b5, &c)
	return a + " " + b5 + " " + c
}

func numCPU() int { return runtime.NumCPU() }
