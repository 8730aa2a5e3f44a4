// Listeners stay plain TCP, as in the brindle binary (main.go): MPTCP ones refuse TCP MD5.
//
//go:debug multipathtcp=0
package bgp_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
	"github.com/brindle-net/brindle/bgp/bgptest"
)

func peerRow(s *bgp.Speaker, i int, net bgptest.Net) bgp.PeerStatus {
	for _, p := range s.Status().Peers {
		if p.Address == net.Addrs[i] {
			return p
		}
	}
	return bgp.PeerStatus{}
}

// setPasswords gives speaker i's session to the other one password pw[i].
func setPasswords(t *testing.T, sp []*bgp.Speaker, net bgptest.Net, pw ...string) {
	t.Helper()
	for i, s := range sp {
		peers := net.MeshPeers(i, testAS)
		peers[0].Password = pw[i]
		if err := s.SetPeers(ctx, peers); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMD5Password: two speakers on loopback. With different passwords no session comes up
// (the kernel drops the unsigned or wrongly signed segments); with the same one it does;
// dropping the password on both ends keeps it working. On a kernel that refuses TCP MD5 the
// peers are held instead (TestMD5Refused covers that on this kernel).
func TestMD5Password(t *testing.T) {
	if why := bgp.MD5Unavailable(); why != "" {
		t.Skipf("the kernel refuses TCP MD5 here: %s", why)
	}
	net, sp := startMesh(t, 2)
	bgptest.WaitFor(t, 30*time.Second, "session up", func() (bool, string) { return bgptest.Established(sp[0]) })

	setPasswords(t, sp, net, "s3cret", "wrong")
	bgptest.WaitFor(t, 30*time.Second, "session reset by the password change", func() (bool, string) {
		r := peerRow(sp[0], 1, net)
		return r.State != "up", r.Info
	})
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if r := peerRow(sp[0], 1, net); r.State == "up" {
			t.Fatalf("session up with mismatched MD5 passwords: %+v", r)
		}
	}
	setPasswords(t, sp, net, "s3cret", "s3cret")
	bgptest.WaitFor(t, 60*time.Second, "MD5 session up", func() (bool, string) { return bgptest.Established(sp[0]) })
	bgptest.WaitFor(t, 10*time.Second, "route over the MD5 session", func() (bool, string) { return bgptest.HasRoute(sp[0], blockOf(1), net.Addrs[1]) })

	setPasswords(t, sp, net, "", "")
	bgptest.WaitFor(t, 60*time.Second, "session up without password", func() (bool, string) { return bgptest.Established(sp[0]) })
}

// TestMD5Refused runs TestMD5RefusedChild with MPTCP listeners (GODEBUG multipathtcp=2, Go's
// default), on which the kernel refuses TCP_MD5SIG exactly as one without CONFIG_TCP_MD5SIG
// does: "protocol not available".
func TestMD5Refused(t *testing.T) {
	if b, err := os.ReadFile("/proc/sys/net/mptcp/enabled"); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Skip("no MPTCP in this kernel: nothing here refuses TCP MD5")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMD5RefusedChild$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=multipathtcp=2", "BRINDLE_MD5_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestMD5RefusedChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestMD5RefusedChild: peers with a password are held (never in GoBGP, never dialing
// unsigned), status says why, nothing crashes; without the password they come up.
func TestMD5RefusedChild(t *testing.T) {
	if os.Getenv("BRINDLE_MD5_CHILD") != "1" {
		t.Skip("run by TestMD5Refused")
	}
	why := bgp.MD5Unavailable()
	if !strings.Contains(why, "protocol not available") {
		t.Fatalf("MPTCP listener: probe said %q, want the kernel's refusal", why)
	}
	net, sp := startMesh(t, 2)
	setPasswords(t, sp, net, "s3cret", "s3cret")
	for i, s := range sp {
		row := peerRow(s, 1-i, net)
		if row.State != "start" || row.Info != "Idle Not started: "+why {
			t.Fatalf("speaker %d: peer row %+v, want not started: %s", i, row, why)
		}
		if len(s.Peers()) != 0 {
			t.Fatalf("speaker %d: held peer reached GoBGP: %v", i, s.Peers())
		}
	}
	setPasswords(t, sp, net, "", "")
	bgptest.WaitFor(t, 60*time.Second, "session up without password", func() (bool, string) { return bgptest.Established(sp[0]) })
}

// TestHeldPeer: a peer held for an unreadable password is listed with the reason and
// leaves status when no longer wanted.
func TestHeldPeer(t *testing.T) {
	net, sp := startMesh(t, 2)
	held := net.MeshPeers(0, testAS)
	held[0].Hold = "password: secret file /x/tor/pw: no such file or directory"
	if err := sp[0].SetPeers(ctx, held); err != nil {
		t.Fatal(err)
	}
	if row := peerRow(sp[0], 1, net); row.Info != "Idle Not started: "+held[0].Hold || !row.NotStarted {
		t.Fatalf("held peer row %+v", row)
	}
	if len(sp[0].Peers()) != 0 {
		t.Fatalf("held peer reached GoBGP: %v", sp[0].Peers())
	}
	if err := sp[0].SetPeers(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := sp[0].Status().Peers; len(got) != 0 {
		t.Fatalf("unwanted held peer still listed: %+v", got)
	}
}
