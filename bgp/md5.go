package bgp

import (
	"errors"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// GoBGP sets TCP_MD5SIG for a peer's password on the dialing socket and on the listeners,
// but when the kernel refuses it GoBGP only logs a warning: the peer is added anyway and
// keeps dialing (gobgp pkg/server/server.go "failed to set md5"). The kernel refuses it
// when built without CONFIG_TCP_MD5SIG, and also on an MPTCP socket, which is what Go 1.24+
// listeners are by default (brindle's main package turns that off with
// //go:debug multipathtcp=0). Such a peer is held instead, with the kernel's answer in
// status: a session that was meant to be authenticated never runs without its password.

// md5Unavailable probes once whether the kernel accepts a TCP MD5 key; "" means it does.
var md5Unavailable = sync.OnceValue(func() string {
	// The key is set on a listener made the way GoBGP makes its own (net.ListenConfig), so
	// that an MPTCP listener is caught as well as a kernel without TCP MD5.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "TCP MD5 probe: " + err.Error()
	}
	defer l.Close()
	rc, err := l.(*net.TCPListener).SyscallConn()
	if err != nil {
		return "TCP MD5 probe: " + err.Error()
	}
	sig := unix.TCPMD5Sig{Keylen: 1}
	sig.Addr.Family = unix.AF_INET
	copy(sig.Addr.Data[2:6], []byte{127, 0, 0, 1})
	sig.Key[0] = 'x'
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptTCPMD5Sig(int(fd), unix.IPPROTO_TCP, unix.TCP_MD5SIG, &sig)
	}); err != nil {
		return "TCP MD5 probe: " + err.Error()
	}
	switch {
	case serr == nil:
		return ""
	case errors.Is(serr, unix.ENOPROTOOPT):
		return "TCP MD5 refused on a listening socket (a kernel without CONFIG_TCP_MD5SIG, or an MPTCP listener: GODEBUG multipathtcp): setsockopt TCP_MD5SIG: " + serr.Error()
	default:
		return "setsockopt TCP_MD5SIG: " + serr.Error()
	}
})

// withMD5Check holds a peer with a password when the kernel cannot sign its segments.
func withMD5Check(p Peer) Peer {
	if p.Hold == "" && p.Password != "" {
		if why := md5Unavailable(); why != "" {
			p.Hold = why
		}
	}
	return p
}
