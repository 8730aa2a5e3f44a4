package bgp

import (
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"net/netip"
	"sort"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// PeerStatus and Status are the wire types of the status socket.
type (
	PeerStatus = bgpstatus.PeerStatus
	Status     = bgpstatus.Status
)

// Status returns the current peer table, sorted by address.
func (s *Speaker) Status() Status {
	return Status{RouterID: s.opts.RouterID, AS: s.opts.AS, Peers: s.status.list()}
}

type peerState struct {
	peer    Peer
	session api.PeerState_SessionState
	since   time.Time
	reason  string
	hold    string // why the session is not started (Peer.Hold)
}

// statusTracker is fed by SetPeers, GoBGP's peer watcher and its BMP peer-down messages
// (peerdown.go). GoBGP's peer events carry no timestamp and no reason, so the time is
// recorded here on arrival.
type statusTracker struct {
	mu    sync.Mutex
	peers map[netip.Addr]*peerState
	now   func() time.Time
}

func newStatusTracker() *statusTracker {
	return &statusTracker{peers: map[netip.Addr]*peerState{}, now: time.Now}
}

func (t *statusTracker) setConfigured(p Peer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.peers[p.Address]; ok {
		if st.hold != "" {
			st.hold, st.reason, st.since = "", "", t.now()
		}
		st.peer = p
		return
	}
	t.peers[p.Address] = &peerState{peer: p, session: api.PeerState_IDLE, since: t.now()}
}

// setHeld lists p as not started, with why.
func (t *statusTracker) setHeld(p Peer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.peers[p.Address]
	if !ok || st.hold != p.Hold {
		st = &peerState{since: t.now()}
		t.peers[p.Address] = st
	}
	st.peer, st.session, st.hold = p, api.PeerState_IDLE, p.Hold
}

// established reports whether the peer's session is up (learned.go holds the stale paths
// such a peer's End-of-RIB drops).
func (t *statusTracker) established(addr netip.Addr) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps, ok := t.peers[addr]
	return ok && ps.session == api.PeerState_ESTABLISHED
}

func (t *statusTracker) remove(addr netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.peers, addr)
}

// sessionState ignores peers that are not configured (late events for deleted ones).
func (t *statusTracker) sessionState(addr netip.Addr, st api.PeerState_SessionState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps, ok := t.peers[addr]
	if !ok || ps.session == st {
		return
	}
	ps.session, ps.since = st, t.now()
}

func (t *statusTracker) peerDown(a netip.Addr, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ps, ok := t.peers[a]; ok {
		ps.reason = reason
	}
}

func (t *statusTracker) list() []PeerStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PeerStatus, 0, len(t.peers))
	for _, ps := range t.peers {
		row := PeerStatus{Address: ps.peer.Address, Port: ps.peer.Port, Type: ps.peer.Type,
			State: "start", Since: ps.since, Info: sessionName(ps.session)}
		if ps.session == api.PeerState_ESTABLISHED {
			row.State = "up"
		} else if ps.hold != "" {
			row.Info += " Not started: " + ps.hold
			row.NotStarted = true
		} else if ps.reason != "" {
			row.Info += " Last down: " + ps.reason
		}
		out = append(out, row)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address.Less(out[j].Address) })
	return out
}

// sessionName spells FSM states as BIRD's "info" column does.
func sessionName(s api.PeerState_SessionState) string {
	switch s {
	case api.PeerState_IDLE:
		return "Idle"
	case api.PeerState_CONNECT:
		return "Connect"
	case api.PeerState_ACTIVE:
		return "Active"
	case api.PeerState_OPENSENT:
		return "OpenSent"
	case api.PeerState_OPENCONFIRM:
		return "OpenConfirm"
	case api.PeerState_ESTABLISHED:
		return "Established"
	}
	return "Idle"
}
