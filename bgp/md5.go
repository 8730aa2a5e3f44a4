package bgp

import (
	"errors"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// GoBGP sets TCP_MD5SIG for a peer's password on the dialing socket and on the listeners,
// but a kernel built without CONFIG_TCP_MD5SIG only makes it log a warning: the peer is
// added anyway and keeps dialing (gobgp pkg/server/sockopt_linux.go). Such a peer is held
// instead, with the kernel's answer in status: a session that was meant to be
// authenticated never runs without its password.

// md5Unavailable probes once whether the kernel accepts a TCP MD5 key; "" means it does.
var md5Unavailable = sync.OnceValue(func() string {
	// The key is set on a listening loopback socket, as GoBGP does: this CI kernel accepts
	// it on a fresh unbound socket and refuses it only once the socket listens.
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
		return "this kernel has no TCP MD5 support (CONFIG_TCP_MD5SIG): setsockopt TCP_MD5SIG: " + serr.Error()
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
