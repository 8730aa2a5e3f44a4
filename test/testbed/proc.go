package testbed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// ProcOptions describes a long-lived process such as `brindle node run`.
type ProcOptions struct {
	Name   string // label, also the log file name (<LogDir>/<Name>.log); required
	Path   string // executable; required
	Args   []string
	Env    []string // added to the test's environment
	LogDir string   // required; stdout and stderr both go to <LogDir>/<Name>.log
	Dir    string   // working directory, default the test's
}

// Proc is a process started in a namespace. Stop it with Stop; it is never found by name.
type Proc struct {
	Name    string
	PID     int
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// Start launches a process inside the namespace with its output in a log file.
func (n *Netns) Start(o ProcOptions) (*Proc, error) { return n.startProc(o, n.StartCmd) }

// startProc opens the log, builds the command from o, launches it with launch (which
// decides how it is tied to the starter) and starts waiting for it.
func (n *Netns) startProc(o ProcOptions, launch func(*exec.Cmd) error) (*Proc, error) {
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
	if err := launch(cmd); err != nil {
		logf.Close()
		return nil, err
	}
	p := &Proc{Name: o.Name, PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// ExitErr is the process's exit status once Done is closed (nil for exit 0).
func (p *Proc) ExitErr() error {
	select {
	case <-p.done:
		return p.waitErr
	default:
		return nil
	}
}

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM to the PID, waits up to grace, then SIGKILLs it. It returns an error only
// if the process could not be stopped; a process that had already exited is fine.
func (p *Proc) Stop(grace time.Duration) error {
	if !p.Running() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM to %s (pid %d): %w", p.Name, p.PID, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGKILL to %s (pid %d): %w", p.Name, p.PID, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) still running 10s after SIGKILL", p.Name, p.PID)
	}
}

// Logs returns what the process has written so far.
func (p *Proc) Logs() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", p.LogPath, err)
	}
	return string(b)
}
