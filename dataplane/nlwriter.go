package dataplane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nlWriter sends route and neighbour requests on one NETLINK_ROUTE socket in batches: up to
// nlWindow requests go out in a single sendmsg (the kernel handles them one after another
// and queues one ack each, NLM_F_ACK), then the acks are read and matched to their requests
// by sequence number. A cold start of 10,000 routes thus costs about 20 sendmsg calls
// instead of 10,000 request/ack round trips. Used only from Apply, which is serialised.
type nlWriter struct {
	fd      int
	seq     uint32
	buf     []byte
	pending map[uint32]func(error)
	replies map[uint32]func(syscall.NetlinkMessage) // answers to queued GET requests
	rbuf    []byte
}

const (
	// nlWindow bounds the requests in flight: their acks (a few hundred bytes of socket
	// memory each) must fit the receive buffer, or the kernel drops them.
	nlWindow = 512
	nlRcvBuf = 4 << 20
	nlSndBuf = 1 << 20
)

// errAckLost: the socket failed before a request's ack arrived; its outcome is unknown, so
// the caller re-reads the kernel.
var errAckLost = errors.New("netlink ack lost")

func newNLWriter(h *nsHandles) (*nlWriter, error) {
	w := &nlWriter{fd: -1, pending: map[uint32]func(error){}, replies: map[uint32]func(syscall.NetlinkMessage){},
		rbuf: make([]byte, 64<<10)}
	// The socket belongs to the namespace of the thread that creates it, for its lifetime.
	err := h.inNS(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		w.fd = fd
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(w.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		w.close()
		return nil, fmt.Errorf("netlink bind: %w", err)
	}
	// Forced sizes need CAP_NET_ADMIN, which the agent has; fall back to the plain ones.
	if unix.SetsockoptInt(w.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, nlRcvBuf) != nil {
		_ = unix.SetsockoptInt(w.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, nlRcvBuf)
	}
	if unix.SetsockoptInt(w.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, nlSndBuf) != nil {
		_ = unix.SetsockoptInt(w.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, nlSndBuf)
	}
	// Error acks without a copy of the request: smaller acks, more of them fit.
	_ = unix.SetsockoptInt(w.fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	// A kernel that never answers must not hang Apply forever.
	tv := unix.Timeval{Sec: 10}
	_ = unix.SetsockoptTimeval(w.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	return w, nil
}

func (w *nlWriter) close() {
	if w != nil && w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}

// queue adds one request (header flags beyond REQUEST|ACK in flags, body already encoded);
// done is called with its outcome during a later flush. A full window is flushed at once.
func (w *nlWriter) queue(typ uint16, flags uint16, body []byte, done func(error)) {
	w.seq++
	if w.seq == 0 {
		w.seq = 1
	}
	n := unix.NLMSG_HDRLEN + len(body)
	var hdr [unix.NLMSG_HDRLEN]byte
	binary.NativeEndian.PutUint32(hdr[0:], uint32(n))
	binary.NativeEndian.PutUint16(hdr[4:], typ)
	binary.NativeEndian.PutUint16(hdr[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	binary.NativeEndian.PutUint32(hdr[8:], w.seq)
	w.buf = append(w.buf, hdr[:]...)
	w.buf = append(w.buf, body...)
	for len(w.buf)%unix.NLMSG_ALIGNTO != 0 {
		w.buf = append(w.buf, 0)
	}
	w.pending[w.seq] = done
	if len(w.pending) >= nlWindow {
		w.flush()
	}
}

// queueGet adds a request the kernel answers with a message (RTM_GETROUTE without
// NLM_F_DUMP): reply is called with the answer, then done with the request's outcome (an
// error and no reply when the kernel refused it). With NLM_F_ACK the kernel sends the answer
// first and the ack after it, so lookups batch like writes.
func (w *nlWriter) queueGet(typ uint16, flags uint16, body []byte, reply func(syscall.NetlinkMessage), done func(error)) {
	next := w.seq + 1
	if next == 0 {
		next = 1 // queue skips 0 the same way
	}
	w.replies[next] = reply
	w.queue(typ, flags, body, done)
}

// flush sends what is queued and waits for every ack. Requests whose ack never came are
// reported to their callbacks as errAckLost.
func (w *nlWriter) flush() {
	if len(w.pending) == 0 {
		return
	}
	buf := w.buf
	w.buf = w.buf[:0]
	if err := unix.Sendto(w.fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		w.failAll(fmt.Errorf("netlink send: %w", err))
		return
	}
	for len(w.pending) > 0 {
		n, _, err := unix.Recvfrom(w.fd, w.rbuf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			// ENOBUFS here means acks were dropped: their requests' outcome is unknown.
			w.failAll(fmt.Errorf("%w: %v", errAckLost, err))
			return
		}
		msgs, err := syscall.ParseNetlinkMessage(w.rbuf[:n])
		if err != nil {
			w.failAll(fmt.Errorf("%w: %v", errAckLost, err))
			return
		}
		for _, m := range msgs {
			done, ok := w.pending[m.Header.Seq]
			if ok && m.Header.Type != unix.NLMSG_ERROR {
				if reply := w.replies[m.Header.Seq]; reply != nil {
					reply(m)
				}
				continue
			}
			if !ok || len(m.Data) < 4 {
				continue // not ours, or not an ack
			}
			delete(w.pending, m.Header.Seq)
			delete(w.replies, m.Header.Seq)
			if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
				done(unix.Errno(-code))
			} else {
				done(nil)
			}
		}
	}
}

func (w *nlWriter) failAll(err error) {
	clear(w.replies)
	for seq, done := range w.pending {
		delete(w.pending, seq)
		done(err)
	}
}

// dump runs one NLM_F_DUMP request and calls f with every reply message. An inconsistent
// dump (the table changed under it) returns netlink.ErrDumpInterrupted, which dump() in
// dump.go retries.
func (w *nlWriter) dump(typ uint16, body []byte, f func(m syscall.NetlinkMessage)) error {
	w.flush()
	w.seq++
	seq := w.seq
	var hdr [unix.NLMSG_HDRLEN]byte
	binary.NativeEndian.PutUint32(hdr[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(hdr[4:], typ)
	binary.NativeEndian.PutUint16(hdr[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(hdr[8:], seq)
	if err := unix.Sendto(w.fd, append(hdr[:], body...), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	interrupted := false
	for {
		n, _, err := unix.Recvfrom(w.fd, w.rbuf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("netlink dump: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(w.rbuf[:n])
		if err != nil {
			return fmt.Errorf("netlink dump: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			if m.Header.Flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE, unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
						return unix.Errno(-code)
					}
				}
				if interrupted {
					return netlink.ErrDumpInterrupted
				}
				return nil
			}
			f(m)
		}
	}
}
