package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// StartDetached is Start for a process that must outlive the program that started it (the
// demo's --keep): it gets its own session and no parent-death signal, so it keeps running
// when the starter exits. The returned Proc works as usual while the starter lives; after
// that the process is stopped by its PID (see the demo's teardown).
func (n *Netns) StartDetached(o ProcOptions) (*Proc, error) {
	if o.Name == "" || o.Path == "" || o.LogDir == "" {
		return nil, fmt.Errorf("testbed: ProcOptions needs Name, Path and LogDir (got %q, %q, %q)",
			o.Name, o.Path, o.LogDir)
	}
	logPath := filepath.Join(o.LogDir, o.Name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log file for %s: %w", o.Name, err)
	}
	cmd := exec.Command(o.Path, o.Args...)
	cmd.Env = append(cmd.Environ(), o.Env...)
	cmd.Dir = o.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = n.Do(func() error { return cmd.Start() })
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s in netns %s: %w", o.Path, n.Name, err)
	}
	p := &Proc{Name: o.Name, PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}
