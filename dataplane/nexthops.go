package dataplane

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Gateway routes go through nexthop objects, one per distinct (gateway, device, onlink):
// the kernel hashes a plain route's nexthop without its gateway, so with 10,000 nodes
// every route insert walked a chain of 10,000 entries (1.5-2 s for a cold start, ~0.8 ms
// per change); routes by nexthop id hash by id. The objects carry protocol 80 like the
// routes. Route dumps still show the resolved gateway, device and onlink flag
// (nexthop_compat_mode, on by default), which is what the route mirror compares, so a route
// programmed either way is recognised and nothing is rewritten on restart. Without kernel
// support or with compat mode off, routes carry their gateways directly, as before.

// rtaNHID is RTA_NH_ID (not in x/sys/unix).
const rtaNHID = 30

// nhIDBase keeps brindle's ids away from the small ones people and other daemons pick.
const nhIDBase = 1 << 20

// nhKey is a nexthop's content: what a route through it resolves to.
type nhKey struct {
	gw     netip.Addr
	link   int
	onlink bool
}

// usesNexthop says whether a desired route goes through a nexthop object.
func usesNexthop(k kroute) bool { return k.gw.Is4() && k.link != 0 && k.typ == unix.RTN_UNICAST }

func nhKeyOf(k kroute) nhKey { return nhKey{gw: k.gw, link: k.link, onlink: k.onlink} }

// nexthops mirrors brindle's nexthop objects (protocol 80) in the namespace.
type nexthops struct {
	ours   map[uint32]nhKey
	byKey  map[nhKey]uint32
	taken  map[uint32]struct{} // ids of nexthops that are not ours
	next   uint32
	writes int
}

// nexthopsSupported: the kernel has nexthop objects (5.3+) and route dumps show their
// gateways (compat mode), which the route mirror relies on.
func nexthopsSupported(h *nsHandles) bool {
	ok := false
	_ = h.inNS(func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/nexthop_compat_mode")
		ok = err == nil && strings.TrimSpace(string(b)) != "0"
		return nil
	})
	return ok
}

// resync reads every nexthop object in the namespace.
func (n *nexthops) resync(w *nlWriter) error {
	var ours map[uint32]nhKey
	var taken map[uint32]struct{}
	_, err := dump("nexthops", func() (struct{}, error) {
		ours, taken = map[uint32]nhKey{}, map[uint32]struct{}{}
		return struct{}{}, w.dump(unix.RTM_GETNEXTHOP, make([]byte, unix.SizeofNhmsg), func(m syscall.NetlinkMessage) {
			if m.Header.Type != unix.RTM_NEWNEXTHOP {
				return
			}
			if id, k, mine := parseNexthop(m.Data); mine {
				ours[id] = k
			} else if id != 0 {
				taken[id] = struct{}{}
			}
		})
	})
	if err != nil {
		return err
	}
	n.ours, n.taken, n.byKey, n.next = ours, taken, map[nhKey]uint32{}, nhIDBase
	for id, k := range ours {
		// One id per content, the lowest, so that the choice does not depend on map order.
		if cur, ok := n.byKey[k]; !ok || id < cur {
			n.byKey[k] = id
		}
		n.next = max(n.next, id+1)
	}
	return nil
}

// parseNexthop decodes an RTM_NEWNEXTHOP message; mine is true for a single IPv4 gateway
// nexthop of protocol 80.
func parseNexthop(b []byte) (id uint32, k nhKey, mine bool) {
	if len(b) < unix.SizeofNhmsg {
		return 0, k, false
	}
	proto, flags := b[2], binary.NativeEndian.Uint32(b[4:])
	k.onlink = flags&unix.RTNH_F_ONLINK != 0
	group := false
	for a := b[unix.SizeofNhmsg:]; len(a) >= 4; {
		l := int(binary.NativeEndian.Uint16(a[0:]))
		if l < 4 || l > len(a) {
			break
		}
		typ, v := binary.NativeEndian.Uint16(a[2:])&0x3fff, a[4:l]
		switch {
		case typ == unix.NHA_ID && len(v) == 4:
			id = binary.NativeEndian.Uint32(v)
		case typ == unix.NHA_OIF && len(v) == 4:
			k.link = int(binary.NativeEndian.Uint32(v))
		case typ == unix.NHA_GATEWAY && len(v) == 4:
			k.gw = netip.AddrFrom4([4]byte(v))
		case typ == unix.NHA_GROUP || typ == unix.NHA_BLACKHOLE:
			group = true
		}
		a = a[min(len(a), (l+3)&^3):]
	}
	return id, k, proto == ProtoBrindle && !group && k.gw.Is4() && k.link != 0
}

// id returns the nexthop for k, queueing its creation (ahead of the route that needs it,
// in the same batch) when there is none yet.
func (n *nexthops) id(w *nlWriter, k nhKey, failed func(error)) uint32 {
	if id, ok := n.byKey[k]; ok {
		return id
	}
	id := n.freeID()
	n.byKey[k], n.ours[id] = id, k
	w.queue(unix.RTM_NEWNEXTHOP, unix.NLM_F_CREATE|unix.NLM_F_EXCL, nexthopBody(id, k), func(err error) {
		if err != nil {
			delete(n.ours, id)
			if n.byKey[k] == id {
				delete(n.byKey, k)
			}
			failed(err)
			return
		}
		n.writes++
	})
	return id
}

func (n *nexthops) freeID() uint32 {
	for {
		id := n.next
		n.next++
		if n.next == 0 {
			n.next = nhIDBase // wrapped: reuse the gaps
		}
		_, mine := n.ours[id]
		_, other := n.taken[id]
		if !mine && !other && id != 0 {
			return id
		}
	}
}

// remove queues the deletion of nexthop id.
func (n *nexthops) remove(w *nlWriter, id uint32, failed func(error)) {
	k := n.ours[id]
	w.queue(unix.RTM_DELNEXTHOP, 0, nexthopIDBody(id), func(err error) {
		if err != nil && !errors.Is(err, unix.ENOENT) {
			failed(err)
			return
		}
		delete(n.ours, id)
		if n.byKey[k] == id {
			delete(n.byKey, k)
		}
		n.writes++
	})
}

func nexthopBody(id uint32, k nhKey) []byte {
	b := make([]byte, unix.SizeofNhmsg, unix.SizeofNhmsg+24)
	b[0] = unix.AF_INET
	b[2] = ProtoBrindle
	if k.onlink {
		binary.NativeEndian.PutUint32(b[4:], unix.RTNH_F_ONLINK)
	}
	b = rtattr(b, unix.NHA_ID, u32(id))
	b = rtattr(b, unix.NHA_OIF, u32(uint32(k.link)))
	g := k.gw.As4()
	return rtattr(b, unix.NHA_GATEWAY, g[:])
}

func nexthopIDBody(id uint32) []byte {
	return rtattr(make([]byte, unix.SizeofNhmsg), unix.NHA_ID, u32(id))
}
