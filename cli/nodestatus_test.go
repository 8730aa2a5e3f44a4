package cli

import (
	"bytes"
	"context"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files from current output")

// now is fixed so SINCE renders the same everywhere; UTC keeps the golden files zone-free.
var statusNow = time.Date(2026, 3, 4, 23, 45, 0, 0, time.UTC)

func at(hms string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", "2026-03-04 "+hms, time.UTC)
	if err != nil {
		panic(err)
	}
	return t
}

func peer(addr string, typ bgpstatus.PeerType, state string, since time.Time, info string) bgpstatus.PeerStatus {
	return bgpstatus.PeerStatus{Address: netip.MustParseAddr(addr), Type: typ, State: state, Since: since, Info: info}
}

func TestNodeStatusGolden(t *testing.T) {
	withPort := peer("192.0.2.9", bgpstatus.PeerGlobal, "start", at("08:00:00").Add(-48*time.Hour), "Active Last down: hold-timer-expired")
	withPort.Port = 1790
	cases := map[string]*bgpstatus.Reply{
		// The example on docs.tigera.io (reference/calicoctl/node/status), written by hand.
		"calico-docs": {BGP: &bgpstatus.Status{Peers: []bgpstatus.PeerStatus{
			peer("172.17.8.102", bgpstatus.PeerMesh, "up", at("23:30:04"), "Established"),
		}}},
		// The seed's route-reflector layout as seen from the reflector.
		"route-reflector": {BGP: &bgpstatus.Status{Peers: []bgpstatus.PeerStatus{
			peer("100.100.137.201", bgpstatus.PeerNodeSpecific, "up", at("08:36:40"), "Established"),
			peer("100.100.137.202", bgpstatus.PeerNodeSpecific, "up", at("08:36:40"), "Established"),
		}}},
		"mixed": {BGP: &bgpstatus.Status{Peers: []bgpstatus.PeerStatus{
			peer("10.0.0.2", bgpstatus.PeerMesh, "up", at("09:10:11"), "Established"),
			withPort,
			peer("fd00::2", bgpstatus.PeerMesh, "start", at("23:44:59"), "Idle"),
		}}},
		"no-peers": {BGP: &bgpstatus.Status{}},
		"no-bgp":   {},
	}
	for name, reply := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			writeNodeStatus(&b, reply, statusNow)
			checkGolden(t, name, b.Bytes())
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "nodestatus", name+".golden")
	if *updateGolden && name != "calico-docs" { // the docs example is never regenerated
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}

type fixedSource bgpstatus.Status

func (f fixedSource) Status() bgpstatus.Status { return bgpstatus.Status(f) }

// Through a real unix socket: the agent side (Listen, Serve, Handler) and this command.
func TestNodeStatusOverSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "state", bgpstatus.SocketName)
	var b bytes.Buffer
	err := runNodeStatus(context.Background(), &b, sock, false)
	if err == nil || b.String() != "Calico process is not running.\n" {
		t.Fatalf("no agent: got err=%v output %q", err, b.String())
	}
	if code := exitCode(err); code != 1 {
		t.Errorf("no agent: exit code %d, want 1", code)
	}

	ln, err := bgpstatus.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	src := fixedSource{Peers: []bgpstatus.PeerStatus{peer("10.0.0.2", bgpstatus.PeerMesh, "up", time.Now(), "Established")}}
	go func() { done <- bgpstatus.Serve(ctx, ln, bgpstatus.Handler(src)) }()
	t.Cleanup(func() { cancel(); <-done })

	b.Reset()
	if err := runNodeStatus(context.Background(), &b, sock, false); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	writeNodeStatus(&want, &bgpstatus.Reply{BGP: (*bgpstatus.Status)(&src)}, time.Now())
	if b.String() != want.String() {
		t.Errorf("over the socket:\n%s\nwant:\n%s", b.String(), want.String())
	}
}
