package dataplane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Recursive next hops (calc.Route.Recursive): a BGP next hop need not be on a connected
// subnet (a mesh peer in another subnet, a multihop eBGP peer, a path reflected from one).
// Calico's BIRD resolves it with `gateway recursive` through its table, which mirrors the
// kernel's (protocol kernel, learn): the route goes in via the gateway and device of the
// kernel's route to the next hop. The route reconciler does the same with the kernel's own
// lookup (RTM_GETROUTE, batched on the writer's socket like the writes), so policy rules,
// metrics and ECMP are honoured exactly as forwarding would honour them, and calc stays free
// of kernel state. Route and link events under a next hop make it resolve again.

// resolution is where the kernel's table sends one next hop.
type resolution struct {
	gw     netip.Addr // the next hop itself when it is on a connected subnet
	link   int
	onlink bool
	via    string // the kernel route it resolved through, for logs ("10.0.2.0/24 via 10.0.1.254 dev eth0")
	err    string // why it cannot be resolved; empty when it is
}

// rtmFFibMatch (RTM_F_FIB_MATCH) asks for the matching table entry instead of the
// forwarding result: its prefix and protocol name the route a next hop resolved through.
const rtmFFibMatch = 0x2000

// kernelRoute is the part of an RTM_NEWROUTE answer the resolution reads.
type kernelRoute struct {
	dst       netip.Prefix
	typ       uint8
	proto     uint8
	table     uint32
	gw        netip.Addr
	link      int
	onlink    bool
	multipath bool
}

func parseKernelRoute(b []byte) (kernelRoute, bool) {
	if len(b) < unix.SizeofRtMsg || (b[0] != unix.AF_INET && b[0] != unix.AF_INET6) {
		return kernelRoute{}, false
	}
	r := kernelRoute{typ: b[7], proto: b[5], table: uint32(b[4]),
		onlink: binary.NativeEndian.Uint32(b[8:])&unix.RTNH_F_ONLINK != 0}
	bits, dst := int(b[1]), netip.IPv4Unspecified()
	if b[0] == unix.AF_INET6 {
		dst = netip.IPv6Unspecified()
	}
	for a := b[unix.SizeofRtMsg:]; len(a) >= 4; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		if l < 4 || l > len(a) {
			break
		}
		typ, v := binary.NativeEndian.Uint16(a[2:])&0x3fff, a[4:l]
		switch {
		case typ == unix.RTA_DST && len(v) == 4:
			dst = netip.AddrFrom4([4]byte(v))
		case typ == unix.RTA_DST && len(v) == 16:
			dst = netip.AddrFrom16([16]byte(v))
		case typ == unix.RTA_GATEWAY && len(v) == 4:
			r.gw = netip.AddrFrom4([4]byte(v))
		case typ == unix.RTA_GATEWAY && len(v) == 16:
			r.gw = netip.AddrFrom16([16]byte(v))
		case typ == unix.RTA_OIF && len(v) == 4:
			r.link = int(binary.NativeEndian.Uint32(v))
		case typ == unix.RTA_TABLE && len(v) == 4:
			r.table = binary.NativeEndian.Uint32(v)
		case typ == unix.RTA_MULTIPATH:
			r.multipath = true
		}
		a = a[min(len(a), (l+3)&^3):]
	}
	r.dst = netip.PrefixFrom(dst, bits)
	return r, true
}

// lookupBody is an RTM_GETROUTE for one address.
func lookupBody(a netip.Addr, flags uint32) []byte {
	b := make([]byte, unix.SizeofRtMsg, unix.SizeofRtMsg+20)
	b[0] = afOf(a)
	b[1] = byte(a.BitLen())
	binary.NativeEndian.PutUint32(b[8:], flags)
	return rtattr(b, unix.RTA_DST, addrBytes(a))
}

// lookup asks the kernel, in one batch, for the table entry each next hop matches and, in a
// second batch for the few that match an ECMP entry, for the path it would forward on. An
// error means a batch itself failed (retry later); a next hop the kernel cannot route gets a
// resolution with err set.
func (t *routeTable) lookup(w *nlWriter, nhs []netip.Addr) (map[netip.Addr]resolution, error) {
	fib, fibErr, err := getRoutes(w, nhs, rtmFFibMatch)
	if err != nil {
		return nil, err
	}
	var multi []netip.Addr
	var at []int // index in nhs of each of multi
	for i, nh := range nhs {
		if fibErr[i] == nil && (fib[i].multipath || fib[i].link == 0) {
			multi, at = append(multi, nh), append(at, i)
		}
	}
	path, pathErr, err := getRoutes(w, multi, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Addr]resolution, len(nhs))
	for i, nh := range nhs {
		out[nh] = t.resolved(nh, fib[i], fibErr[i], kernelRoute{}, unix.ENOENT)
	}
	for i, nh := range multi {
		out[nh] = t.resolved(nh, fib[at[i]], fibErr[at[i]], path[i], pathErr[i])
	}
	return out, nil
}

// getRoutes sends one RTM_GETROUTE per address (rtm_flags flags) in one batch and returns
// the answers and per-address errors in the order of addrs.
func getRoutes(w *nlWriter, addrs []netip.Addr, flags uint32) ([]kernelRoute, []error, error) {
	routes, errs := make([]kernelRoute, len(addrs)), make([]error, len(addrs))
	var lost error
	for i, a := range addrs {
		errs[i] = errAckLost // until the kernel answers
		w.queueGet(unix.RTM_GETROUTE, 0, lookupBody(a, flags), func(m syscall.NetlinkMessage) {
			if r, ok := parseKernelRoute(m.Data); ok {
				routes[i] = r
			}
		}, func(err error) {
			errs[i] = err
			if errors.Is(err, errAckLost) {
				lost = err
			}
		})
	}
	w.flush()
	if lost != nil {
		return nil, nil, fmt.Errorf("resolving next hops: %w", lost)
	}
	return routes, errs, nil
}

// resolved turns the kernel's answers for nh into a resolution.
func (t *routeTable) resolved(nh netip.Addr, fib kernelRoute, fibErr error, path kernelRoute, pathErr error) resolution {
	if fibErr != nil {
		return resolution{err: "no route to it: " + fibErr.Error()}
	}
	switch fib.typ {
	case unix.RTN_UNICAST:
	case unix.RTN_LOCAL:
		return resolution{err: "it is an address of this host"}
	default:
		return resolution{err: "it resolves to " + typeName(fib.typ) + " route " + fib.dst.String()}
	}
	res := resolution{gw: fib.gw, link: fib.link, onlink: fib.onlink}
	if fib.multipath || fib.link == 0 {
		// ECMP (or a nexthop object the dump does not spell out): take the path the kernel
		// forwards on for this address, as traffic to the next hop itself would go.
		if pathErr != nil || path.typ != unix.RTN_UNICAST || path.link == 0 {
			return resolution{err: "no usable path through " + fib.dst.String()}
		}
		res = resolution{gw: path.gw, link: path.link}
	}
	if !res.gw.IsValid() {
		res.gw = nh // on a connected subnet: the next hop is the gateway
	}
	res.via = fib.dst.String()
	if fib.gw.IsValid() {
		res.via += " via " + fib.gw.String()
	}
	res.via += " dev " + t.links.nameOf(res.link)
	if fib.multipath {
		res.via += " (multipath, via " + res.gw.String() + ")"
	}
	if fib.table != unix.RT_TABLE_MAIN {
		res.via += " table " + strconv.Itoa(int(fib.table))
	}
	return res
}

func typeName(t uint8) string {
	switch t {
	case unix.RTN_BLACKHOLE:
		return "a blackhole"
	case unix.RTN_UNREACHABLE:
		return "an unreachable"
	case unix.RTN_PROHIBIT:
		return "a prohibit"
	case unix.RTN_THROW:
		return "a throw"
	}
	return "a type " + strconv.Itoa(int(t))
}
