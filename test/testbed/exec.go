package testbed

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
)

// StartCmd starts a prepared command inside the namespace. The child inherits the network
// namespace of the thread that forks it, so the fork happens on a thread switched into n.
// Mount-namespace state (/sys, /etc/netns) is not changed, unlike `ip netns exec`: processes
// that talk netlink see the right namespace, readers of /sys/class/net would not.
func (n *Netns) StartCmd(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// If the test binary dies, its children must not outlive it inside a namespace nobody
	// will clean up.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return n.Do(func() error {
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting %s in netns %s: %w", cmd.Path, n.Name, err)
		}
		return nil
	})
}

// RunOptions is a one-shot command run by Netns.Run.
type RunOptions struct {
	Path  string
	Args  []string
	Env   []string  // added to the test's environment
	Stdin io.Reader // optional
}

// Run runs a command to completion inside the namespace and returns its combined output.
// A non-zero exit is an error that carries the output, so callers can just report it.
func (n *Netns) Run(ctx context.Context, o RunOptions) (string, error) {
	cmd := exec.CommandContext(ctx, o.Path, o.Args...)
	if len(o.Env) > 0 {
		cmd.Env = append(cmd.Environ(), o.Env...)
	}
	cmd.Stdin = o.Stdin
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := n.StartCmd(cmd); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return out.String(), fmt.Errorf("%s %s in netns %s: %w: %s", o.Path,
			strings.Join(o.Args, " "), n.Name, err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}
