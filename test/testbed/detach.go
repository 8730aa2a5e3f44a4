package testbed

import (
	"fmt"
	"os/exec"
	"syscall"
)

// StartDetached is Start for a process that must outlive the program that started it (the
// demo's --keep): it gets its own session and no parent-death signal, so it keeps running
// when the starter exits. The returned Proc works as usual while the starter lives; after
// that the process is stopped by its PID (see the demo's teardown).
func (n *Netns) StartDetached(o ProcOptions) (*Proc, error) {
	return n.startProc(o, func(cmd *exec.Cmd) error {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := n.Do(cmd.Start); err != nil {
			return fmt.Errorf("starting %s in netns %s: %w", cmd.Path, n.Name, err)
		}
		return nil
	})
}
