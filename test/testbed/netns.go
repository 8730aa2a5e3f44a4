// Package testbed builds multi-host test beds out of network namespaces: a fabric namespace
// holding one bridge per subnet, host namespaces plugged into those bridges, a router namespace
// joining the subnets, and helpers to run commands and long-lived processes (brindle datastore
// run, brindle node run) inside a namespace and stop them by PID. It is shared by test/e2e (on
// this machine) and test/vm/scenarios (inside the qemu guest), so it needs nothing but the
// kernel: no ip(8), no tcpdump.
package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Netns is a named network namespace (/var/run/netns/<Name>) with a netlink handle bound to it.
type Netns struct {
	Name string
	// NS is an open handle on the namespace; it stays valid until Close.
	NS netns.NsHandle
	// NL is a netlink handle bound to the namespace. It is opened for NETLINK_ROUTE only:
	// netlink.NewHandleAt with no families also opens NETLINK_XFRM, which fails with
	// "protocol not supported" on kernels without xfrm_user loaded (seen in the VM).
	NL *netlink.Handle
}

// RandSuffix returns a short random hex string for unique namespace and link names.
func RandSuffix() string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// NewNetns creates the named namespace, brings its loopback up and opens a netlink handle in it.
// The calling goroutine's namespace is not changed.
func NewNetns(name string) (*Netns, error) {
	var h netns.NsHandle
	err := onLockedThread(func() error {
		var err error
		// NewNamed unshares the current thread into the new namespace; onLockedThread puts
		// the thread back afterwards.
		h, err = netns.NewNamed(name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("creating netns %s: %w", name, err)
	}
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		h.Close()
		_ = netns.DeleteNamed(name)
		return nil, fmt.Errorf("netlink handle in netns %s: %w", name, err)
	}
	n := &Netns{Name: name, NS: h, NL: nl}
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("loopback up in netns %s: %w", name, err)
	}
	return n, nil
}

// Close releases the handles and deletes the namespace name. The kernel frees the namespace
// (and destroys its veths) once no process or open handle uses it any more.
func (n *Netns) Close() error {
	if n.NL != nil {
		n.NL.Close()
		n.NL = nil
	}
	if n.NS.IsOpen() {
		n.NS.Close()
	}
	if err := netns.DeleteNamed(n.Name); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("deleting netns %s: %w", n.Name, err)
	}
	return nil
}

// Do runs fn on an OS thread switched into the namespace. Sockets fn opens stay in the
// namespace after Do returns, which is how tests send traffic from a host or a workload.
func (n *Netns) Do(fn func() error) error {
	var fnErr error
	err := onLockedThread(func() error {
		if err := netns.Set(n.NS); err != nil {
			return fmt.Errorf("entering netns %s: %w", n.Name, err)
		}
		fnErr = fn()
		return nil
	})
	if err != nil {
		return err
	}
	return fnErr
}

// Sysctl writes /proc/sys/<key> (key with slashes, e.g. "net/ipv4/ip_forward") inside the
// namespace; /proc/sys/net follows the writing thread's namespace.
func (n *Netns) Sysctl(key, value string) error {
	return n.Do(func() error {
		if err := os.WriteFile("/proc/sys/"+key, []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s in netns %s: %w", key, value, n.Name, err)
		}
		return nil
	})
}

// onLockedThread runs fn on a fresh goroutine locked to its thread and restores the thread's
// original namespace afterwards. If restoring fails the thread stays locked, so the runtime
// throws it away when the goroutine ends instead of reusing a thread in the wrong namespace.
func onLockedThread(fn func() error) error {
	type result struct{ err error }
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{fmt.Errorf("reading current netns: %w", err)}
			return // thread stays locked and is discarded
		}
		defer orig.Close()
		fnErr := fn()
		if err := netns.Set(orig); err != nil {
			ch <- result{fmt.Errorf("restoring netns: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{fnErr}
	}()
	return (<-ch).err
}
