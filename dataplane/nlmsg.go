package dataplane

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Request bodies for nlWriter, encoded as the kernel reads them (rtmsg/ndmsg followed by
// attributes). They carry the same fields the netlink library sent for the same objects.

// rtattr appends one attribute, padded to 4 bytes.
func rtattr(b []byte, typ uint16, data []byte) []byte {
	var h [4]byte
	binary.NativeEndian.PutUint16(h[0:], uint16(4+len(data)))
	binary.NativeEndian.PutUint16(h[2:], typ)
	b = append(append(b, h[:]...), data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// addrBytes is a as the kernel reads it: 4 bytes for IPv4, 16 for IPv6.
func addrBytes(a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return v[:]
	}
	v := a.As16()
	return v[:]
}

// afOf is the address family of a.
func afOf(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// routeBody is an rtmsg for dst in the main table shaped as k, through nexthop object nhid
// when it is not 0 (the gateway, device and onlink flag are then the nexthop's).
func routeBody(dst netip.Prefix, k kroute, nhid uint32) []byte {
	b := make([]byte, unix.SizeofRtMsg, unix.SizeofRtMsg+24)
	b[0] = afOf(dst.Addr())
	b[1] = byte(dst.Bits())
	b[4] = unix.RT_TABLE_MAIN
	b[5] = byte(k.proto)
	b[6] = byte(k.scope)
	b[7] = byte(k.typ)
	b = rtattr(b, unix.RTA_DST, addrBytes(dst.Addr()))
	if nhid != 0 {
		return rtattr(b, rtaNHID, u32(nhid))
	}
	if k.onlink {
		binary.NativeEndian.PutUint32(b[8:], unix.RTNH_F_ONLINK)
	}
	if k.gw.IsValid() {
		b = rtattr(b, unix.RTA_GATEWAY, addrBytes(k.gw))
	}
	if k.link != 0 {
		b = rtattr(b, unix.RTA_OIF, u32(uint32(k.link)))
	}
	return b
}

// neighBody is an ndmsg for a neighbour (family AF_INET) or FDB entry (AF_BRIDGE).
func neighBody(family uint8, link int, state uint16, flags uint8, ip netip.Addr, mac []byte) []byte {
	b := make([]byte, unix.SizeofNdMsg, unix.SizeofNdMsg+24)
	b[0] = family
	binary.NativeEndian.PutUint32(b[4:], uint32(link))
	binary.NativeEndian.PutUint16(b[8:], state)
	b[10] = flags
	b = rtattr(b, unix.NDA_DST, addrBytes(ip))
	if mac != nil {
		b = rtattr(b, unix.NDA_LLADDR, mac)
	}
	return b
}
