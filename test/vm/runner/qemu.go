package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// bootOptions is one qemu run.
type bootOptions struct {
	Vmlinux, Initrd string
	Share           string // host dir mounted at /mnt in the guest (9p)
	MemMB           int
	CPUs            int // guest vCPUs; TCG runs one host thread per vCPU
	Timeout         time.Duration
	SerialLog       string    // every serial line, as printed
	Out             io.Writer // serial lines with an elapsed-time prefix
}

// bootResult says how the run ended.
type bootResult struct {
	Pass     bool
	Reason   string                   // why it failed, for the final line
	ExitCode int                      // qemu's: 1 = guest wrote 0 (PASS), 3 = guest wrote 1
	Markers  map[string]time.Duration // first time each VMTEST-* marker was seen
	Elapsed  time.Duration
}

// markers the runner times; VMTEST-RESULT carries the verdict.
var markerNames = []string{"VMTEST-BOOTED", "VMTEST-MODULES-LOADED", "VMTEST-END", "VMTEST-RESULT"}

func boot(o bootOptions) (*bootResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	args := []string{
		"-accel", "tcg", "-cpu", "max", "-m", fmt.Sprint(o.MemMB), "-smp", fmt.Sprint(o.CPUs),
		// No NIC: without -nic none qemu adds a user-mode network, a path out of the guest.
		"-nic", "none", "-no-reboot", "-display", "none", "-monitor", "none", "-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-virtfs", "local,path=" + o.Share + ",mount_tag=vmshare,security_model=none,id=vmshare",
		"-kernel", o.Vmlinux, "-initrd", o.Initrd,
		// panic=-1 with -no-reboot turns a kernel panic into a qemu exit instead of a hang.
		"-append", "console=ttyS0 panic=-1 quiet no_timer_check",
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // qemu's own complaints go to the same log
	logf, err := os.Create(o.SerialLog)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting qemu-system-x86_64 (scripts/setup.sh installs qemu-system-x86): %w", err)
	}
	res := &bootResult{Markers: map[string]time.Duration{}}
	verdict := ""
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		el := time.Since(start)
		fmt.Fprintln(logf, line)
		fmt.Fprintf(o.Out, "[%6.1fs] %s\n", el.Seconds(), line)
		for _, m := range markerNames {
			if _, seen := res.Markers[m]; !seen && strings.HasPrefix(line, m) {
				res.Markers[m] = el
			}
		}
		if strings.HasPrefix(line, "VMTEST-RESULT:") && verdict == "" {
			verdict = strings.TrimSpace(strings.TrimPrefix(line, "VMTEST-RESULT:"))
		}
	}
	waitErr := cmd.Wait()
	res.Elapsed = time.Since(start)
	res.ExitCode = cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	res.Reason = judge(outcome{
		TimedOut: ctx.Err() != nil, QemuErr: waitErr != nil && !errors.As(waitErr, &exitErr), WaitErr: waitErr,
		Verdict: verdict, ExitCode: res.ExitCode,
	})
	if ctx.Err() != nil {
		res.Reason += fmt.Sprintf(" after %s: the guest hung or is too slow; qemu (pid %d) was killed; see %s",
			o.Timeout, cmd.Process.Pid, o.SerialLog)
	}
	res.Pass = res.Reason == ""
	return res, nil
}

// outcome is what a qemu run left behind.
type outcome struct {
	TimedOut bool
	QemuErr  bool // qemu could not be waited for (not a plain non-zero exit)
	WaitErr  error
	Verdict  string // text after "VMTEST-RESULT:", "" if the marker never came
	ExitCode int
}

// judge returns why the run failed, or "" for a pass. Both the serial marker and the
// isa-debug-exit code must say PASS: the marker alone could be printed by a confused
// guest, and the exit code alone cannot tell a pass from other ways qemu exits 1.
func judge(o outcome) string {
	switch {
	case o.TimedOut:
		return "timed out"
	case o.QemuErr:
		return fmt.Sprintf("qemu: %v", o.WaitErr)
	case o.Verdict == "":
		return fmt.Sprintf("no VMTEST-RESULT marker on the serial console (qemu exit %d): kernel panic or /init died", o.ExitCode)
	case o.Verdict != "PASS":
		return "guest reported " + o.Verdict
	case o.ExitCode != 1:
		return fmt.Sprintf("guest printed PASS but qemu exited %d, not 1 (isa-debug-exit write lost?)", o.ExitCode)
	}
	return ""
}
