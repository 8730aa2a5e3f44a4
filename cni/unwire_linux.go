package cni

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Unwire removes the workload's veth; a missing netns or interface is success (DEL must be
// idempotent). The host veth goes with its peer, and the /32 routes with the host veth.
func Unwire(netnsPath, contIfName, hostVeth string) error {
	u, err := StartUnwire(netnsPath, contIfName)
	if err != nil {
		return err
	}
	return u.Wait()
}

// Unwiring is a veth deletion the kernel is still finishing.
//
// Why: deleting a veth takes ~15 ms on this class of machine, but the pair is unlisted, and
// its addresses and routes are gone, after about 1 ms. The rest is the kernel waiting for an
// RCU grace period (rcu_barrier in netdev_run_todo) before freeing the devices, inside the
// same netlink request. Deleting the host end instead, setting the link down first, or
// moving it to a throwaway namespace all cost the same (measured, see bench/cni). So DEL
// starts the deletion, waits only until the kernel announces the link gone, and releases
// the addresses and the endpoint while the kernel finishes.
type Unwiring struct {
	done  chan error
	found bool // the container's interface existed (DEL logs quietly when nothing did)
}

// StartUnwire deletes the container side of the workload's veth in the background and
// returns once the kernel reports the pair gone (or the deletion failed, or there was
// nothing to delete). Wait returns the deletion's outcome.
//
// The host veth is not deleted by name: after a pod is recreated the same name belongs to
// the new container, and a late DEL of the old one must not cut it off. When the netns is
// gone the kernel has already destroyed both ends.
func StartUnwire(netnsPath, contIfName string) (*Unwiring, error) {
	u := &Unwiring{done: make(chan error, 1)}
	if netnsPath == "" {
		u.done <- nil
		return u, nil
	}
	contNS, err := netns.GetFromPath(netnsPath)
	if err != nil {
		u.done <- nil // no namespace, nothing left to delete
		return u, nil
	}
	if !isNetns(contNS) {
		// The path outlived its namespace (unmounted, file left behind): the kernel has
		// destroyed the namespace and both veth ends with it.
		contNS.Close()
		u.done <- nil
		return u, nil
	}
	ch, err := netlink.NewHandleAt(contNS)
	if err != nil {
		contNS.Close()
		return nil, fmt.Errorf("netlink in container netns %s: %w", netnsPath, err)
	}
	l, err := ch.LinkByName(contIfName)
	if err != nil {
		ch.Close()
		contNS.Close()
		u.done <- nil
		return u, nil
	}
	u.found = true
	// Subscribe before deleting so the announcement cannot be missed. Without a
	// subscription the caller simply waits for the whole deletion.
	updates := make(chan netlink.LinkUpdate, 16)
	stop := make(chan struct{})
	subErr := netlink.LinkSubscribeWithOptions(updates, stop, netlink.LinkSubscribeOptions{Namespace: &contNS})
	result := make(chan error, 1)
	go func() {
		defer contNS.Close()
		defer ch.Close()
		err := ch.LinkDel(l)
		if err != nil && !isNotFound(err) {
			err = fmt.Errorf("deleting %s in container netns %s: %w", contIfName, netnsPath, err)
		} else {
			err = nil
		}
		result <- err
	}()
	if subErr != nil {
		u.done = result
		return u, nil
	}
	defer func() {
		close(stop)
		go func() { // the subscription goroutine ends once its socket is closed
			for range updates {
			}
		}()
	}()
	idx := l.Attrs().Index
	for {
		select {
		case err := <-result:
			u.done <- err
			return u, nil
		case up, ok := <-updates:
			if !ok {
				u.done = result
				return u, nil
			}
			if up.Header.Type == unix.RTM_DELLINK && int(up.Index) == idx {
				u.done = result
				return u, nil
			}
		}
	}
}

// isNetns reports whether h is a network namespace (nsfs, or procfs on old kernels) rather
// than, say, the empty file a runtime's bind mount leaves once it is unmounted.
func isNetns(h netns.NsHandle) bool {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(h), &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC || st.Type == unix.PROC_SUPER_MAGIC
}

// Wait blocks until the kernel has finished the deletion and returns its outcome.
func (u *Unwiring) Wait() error {
	err := <-u.done
	u.done <- err // Wait may be called again
	return err
}
