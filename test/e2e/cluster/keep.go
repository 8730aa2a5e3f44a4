package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
)

// StateFile is where Keep records what a detached cluster left running.
const StateFile = "cluster.json"

// State is what a kept cluster leaves behind: processes (by PID, with the executable each
// must still be, so a reused PID is never signalled) and namespaces.
type State struct {
	Dir        string
	Processes  []KeptProc
	Namespaces []string
}

// KeptProc is one process of a kept cluster.
type KeptProc struct {
	Name string
	PID  int
	Exe  string
}

// Keep writes the cluster's state to <Dir>/cluster.json and lets go of everything without
// stopping it; Teardown(Dir) removes it later.
func (c *Cluster) Keep() (State, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := State{Dir: c.Dir}
	add := func(name string, pid int) {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		s.Processes = append(s.Processes, KeptProc{Name: name, PID: pid, Exe: exe})
	}
	for _, p := range c.extra {
		add(p.Name, p.PID)
	}
	for _, a := range c.agents {
		add(a.Proc.Name, a.Proc.PID)
	}
	if c.etcd != nil {
		add(c.etcd.Name, c.etcd.PID)
	}
	for _, ct := range c.containers {
		s.Namespaces = append(s.Namespaces, ct.NS.Name)
	}
	for _, h := range c.Bed.Hosts {
		s.Namespaces = append(s.Namespaces, h.Name)
	}
	s.Namespaces = append(s.Namespaces, c.Bed.Router.Name, c.Bed.Fabric.Name)
	b, _ := json.MarshalIndent(s, "", "  ")
	return s, os.WriteFile(filepath.Join(c.Dir, StateFile), b, 0o644)
}

// Teardown stops the processes of a kept cluster (SIGTERM, then SIGKILL), deletes its
// namespaces and removes its directory.
func Teardown(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return fmt.Errorf("no kept cluster in %s: %w", dir, err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", StateFile, err)
	}
	var errs []error
	for _, p := range s.Processes {
		errs = append(errs, stopPID(p))
	}
	for _, n := range s.Namespaces {
		if err := netns.DeleteNamed(n); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("deleting netns %s: %w", n, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// stopPID signals p only while /proc says it is still the same program.
func stopPID(p KeptProc) error {
	same := func() bool {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
		return err == nil && strings.TrimSuffix(exe, " (deleted)") == strings.TrimSuffix(p.Exe, " (deleted)")
	}
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if !same() {
			return nil
		}
		if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signalling %s (pid %d): %w", p.Name, p.PID, err)
		}
		for range 100 * (2 - i) {
			if !same() {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return fmt.Errorf("%s (pid %d) did not stop", p.Name, p.PID)
}
