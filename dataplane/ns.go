package dataplane

import (
	"errors"
	"fmt"
	"runtime"
	"slices"

	"github.com/google/nftables"
	mdnetlink "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nsHandles are the namespace-bound sockets every reconciler uses. Sockets are bound to the
// namespace when they are created, so no thread of the agent ever stays in another
// namespace.
type nsHandles struct {
	ns     netns.NsHandle // netns.None() for the agent's own namespace
	nl     *netlink.Handle
	nftOpt []nftables.ConnOption
	w      *nlWriter // opened on the first write
}

func openNS(path string) (*nsHandles, error) {
	h := &nsHandles{ns: netns.None()}
	if path != "" {
		ns, err := netns.GetFromPath(path)
		if err != nil {
			return nil, fmt.Errorf("netns %s: %w", path, err)
		}
		h.ns = ns
		h.nftOpt = []nftables.ConnOption{nftables.WithNetNSFd(int(ns))}
	}
	// Only NETLINK_ROUTE: some kernels lack xfrm, and asking for every family would fail.
	nl, err := netlink.NewHandleAt(h.ns, unix.NETLINK_ROUTE)
	if err != nil {
		h.close()
		return nil, fmt.Errorf("netlink handle: %w", err)
	}
	h.nl = nl
	return h, nil
}

// writer returns the batching netlink writer, opening its socket on first use.
func (h *nsHandles) writer() (*nlWriter, error) {
	if h.w == nil {
		w, err := newNLWriter(h)
		if err != nil {
			return nil, err
		}
		h.w = w
	}
	return h.w, nil
}

func (h *nsHandles) close() {
	h.w.close()
	if h.nl != nil {
		h.nl.Close()
	}
	if h.ns.IsOpen() {
		h.ns.Close()
	}
}

// nft opens a fresh nftables connection in the namespace (a lasting connection would pin
// a netlink socket we do not otherwise need between applies).
func (h *nsHandles) nft() (*nftables.Conn, error) {
	return nftables.New(h.nftOpt...)
}

// inNS runs f with the calling goroutine on a thread in the namespace. /proc/sys/net shows
// the namespace of the thread that opens it, so sysctls need this. The thread is locked and
// never unlocked: when the goroutine ends the runtime discards it, so a thread that entered
// another namespace is never reused by the agent.
func (h *nsHandles) inNS(f func() error) error {
	if !h.ns.IsOpen() {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(h.ns), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// nftBulk opens an nftables connection for large transactions. google/nftables sends a
// whole transaction in one sendmsg, which the kernel refuses (EMSGSIZE) beyond the socket's
// send buffer, and the kernel acknowledges every message, which overflows a default
// receive buffer: a cold start with 1,000 policies and 500 endpoints is ~50,000 messages.
// The FORCE options (root) lift both limits; the buffers are limits, not allocations.
func (h *nsHandles) nftBulk() (*nftables.Conn, error) {
	big := func(c *mdnetlink.Conn) error {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = errors.Join(unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 256<<20),
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 256<<20))
		}); err != nil {
			return err
		}
		return serr
	}
	return nftables.New(append(slices.Clip(h.nftOpt), nftables.WithSockOptions(big))...)
}
