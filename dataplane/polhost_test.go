package dataplane

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/calc/policy"
)

// listen starts a python TCP (or UDP) server in ns on port that answers "ok"; stopped by PID.
func listen(t *testing.T, ns, proto, port string) {
	t.Helper()
	code := `import socket,sys
p=int(sys.argv[2])
if sys.argv[1]=="tcp":
    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(("0.0.0.0",p)); s.listen(16)
    while True:
        c,_=s.accept(); c.sendall(b"ok"); c.close()
else:
    s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("0.0.0.0",p))
    while True:
        d,a=s.recvfrom(100); s.sendto(b"ok",a)
`
	cmd := exec.Command("ip", "netns", "exec", ns, "python3", "-c", code, proto, port)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	time.Sleep(300 * time.Millisecond)
}

// reach reports whether a client in ns gets "ok" from dst:port (tcp or udp), optionally from
// a source port.
func reach(ns, proto, dst, port, sport string) bool {
	code := `import socket,sys
t=socket.SOCK_STREAM if sys.argv[1]=="tcp" else socket.SOCK_DGRAM
s=socket.socket(socket.AF_INET,t); s.settimeout(1)
if sys.argv[4]!="0": s.bind(("0.0.0.0",int(sys.argv[4])))
try:
    s.connect((sys.argv[2],int(sys.argv[3])))
    if t==socket.SOCK_DGRAM: s.send(b"hi")
    sys.exit(0 if s.recv(10)==b"ok" else 1)
except Exception: sys.exit(1)
`
	if sport == "" {
		sport = "0"
	}
	return exec.Command("ip", "netns", "exec", ns, "python3", "-c", code, proto, dst, port, sport).Run() == nil
}

func hostProgram(t *testing.T, m *policy.Model, dp *Dataplane) {
	t.Helper()
	prog, delta := m.Flush()
	if err := dp.ApplyPolicyProgram(context.Background(), prog, delta); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// TestHostEndpointFailsafePreDNATUntracked: host b with a host endpoint on eth0 and no policy
// drops everything but the failsafe ports; a preDNAT policy denies one source; a doNotTrack
// policy lets a UDP flow through without a conntrack entry.
func TestHostEndpointFailsafePreDNATUntracked(t *testing.T) {
	needRoot(t)
	a, b := hostPair(t)
	sh(t, "ip", "-n", a, "addr", "add", "10.0.1.11/24", "dev", "eth0")
	dp := newDP(t, b)
	listen(t, b, "tcp", "22")
	listen(t, b, "tcp", "8080")
	listen(t, b, "udp", "5000")
	listen(t, b, "udp", "4789")
	if !reach(a, "tcp", "10.0.1.2", "8080", "") || !reach(a, "udp", "10.0.1.2", "5000", "") {
		t.Fatal("no connectivity before policy")
	}
	m := policy.New(policy.Options{Node: "b"})
	h := &api.HostEndpoint{}
	h.Name, h.Labels = "b-eth0", map[string]string{"host": "b"}
	h.Spec = api.HostEndpointSpec{Node: "b", InterfaceName: "eth0", ExpectedIPs: []string{"10.0.1.2"}}
	m.SetHostEndpoint(h)
	hostProgram(t, m, dp)
	if !reach(a, "tcp", "10.0.1.2", "22", "") {
		t.Error("failsafe tcp/22 blocked by a host endpoint without policy")
	}
	if reach(a, "tcp", "10.0.1.2", "8080", "") || reach(a, "udp", "10.0.1.2", "5000", "") || pings(a, "10.0.1.2") ||
		reach(a, "udp", "10.0.1.2", "4789", "") {
		t.Error("host endpoint without policy lets non-failsafe traffic in")
	}
	// A pool using VXLAN: the tunnel port passes host policy (felix's INPUT/OUTPUT do that).
	cfg := policy.ConfigFrom(nil, nil)
	cfg.HostVXLAN = true
	m.SetConfig(cfg)
	hostProgram(t, m, dp)
	if !reach(a, "udp", "10.0.1.2", "4789", "") {
		t.Error("VXLAN port blocked by host policy while a pool uses VXLAN")
	}
	if reach(a, "udp", "10.0.1.2", "5000", "") {
		t.Error("udp/5000 passes with the VXLAN exception")
	}
	// Allow everything by normal policy, then deny 10.0.1.11 before DNAT.
	allowAll := &api.GlobalNetworkPolicy{}
	allowAll.Name = "allow-all"
	allowAll.Spec = api.GlobalNetworkPolicySpec{Selector: "host == 'b'", Types: []string{"Ingress", "Egress"},
		Ingress: []api.Rule{{Action: api.ActionAllow}}, Egress: []api.Rule{{Action: api.ActionAllow}}}
	m.SetGlobalNetworkPolicy(allowAll)
	pre := &api.GlobalNetworkPolicy{}
	pre.Name = "pre"
	pre.Spec = api.GlobalNetworkPolicySpec{Selector: "host == 'b'", Types: []string{"Ingress"}, PreDNAT: true, ApplyOnForward: true,
		Ingress: []api.Rule{{Action: api.ActionDeny, Source: api.EntityRule{Nets: []string{"10.0.1.11/32"}}}}}
	m.SetGlobalNetworkPolicy(pre)
	hostProgram(t, m, dp)
	if !reach(a, "tcp", "10.0.1.2", "8080", "") {
		t.Error("allow-all host policy: 8080 blocked")
	}
	out := sh(t, "ip", "netns", "exec", a, "python3", "-c", `import socket
s=socket.socket(); s.settimeout(1); s.bind(("10.0.1.11",0))
try:
    s.connect(("10.0.1.2",8080)); print("open")
except Exception: print("blocked")`)
	if !strings.Contains(out, "blocked") {
		t.Error("preDNAT deny of 10.0.1.11 not enforced")
	}
	// doNotTrack: UDP 5000 allowed both ways, untracked.
	raw := &api.GlobalNetworkPolicy{}
	raw.Name = "raw"
	udp := api.ProtocolFromName("UDP")
	raw.Spec = api.GlobalNetworkPolicySpec{Selector: "host == 'b'", Types: []string{"Ingress", "Egress"}, DoNotTrack: true, ApplyOnForward: true,
		Ingress: []api.Rule{{Action: api.ActionAllow, Protocol: &udp, Destination: api.EntityRule{Ports: []api.Port{{MinPort: 5000, MaxPort: 5000}}}}},
		Egress:  []api.Rule{{Action: api.ActionAllow, Protocol: &udp, Source: api.EntityRule{Ports: []api.Port{{MinPort: 5000, MaxPort: 5000}}}}}}
	m.SetGlobalNetworkPolicy(raw)
	hostProgram(t, m, dp)
	if !reach(a, "udp", "10.0.1.2", "5000", "40000") {
		t.Error("doNotTrack-allowed UDP flow does not get through")
	}
	if !reach(a, "tcp", "10.0.1.2", "8080", "") {
		t.Error("tracked TCP broken by the doNotTrack policy")
	}
	// The table is per namespace; the tracked TCP connection is the positive control.
	ct := sh(t, "ip", "netns", "exec", b, "cat", "/proc/net/nf_conntrack")
	if !strings.Contains(ct, "dport=8080") {
		t.Errorf("conntrack table lacks the tracked TCP connection:\n%s", ct)
	}
	if strings.Contains(ct, "sport=40000") {
		t.Errorf("untracked UDP flow has a conntrack entry:\n%s", ct)
	}
	// An edit of the doNotTrack policy alone takes the Delta path; its marked copy follows:
	// udp/5000 is tracked again (the allow-all policy admits it).
	raw2 := *raw
	raw2.Spec.Ingress = []api.Rule{{Action: api.ActionAllow, Protocol: &udp, Destination: api.EntityRule{Ports: []api.Port{{MinPort: 5999, MaxPort: 5999}}}}}
	m.SetGlobalNetworkPolicy(&raw2)
	if prog, delta := m.Flush(); len(delta.HostEndpointsChanged) != 0 || len(delta.ChainsChanged) == 0 {
		t.Fatalf("expected a chain-only delta: %+v", delta)
	} else if err := dp.ApplyPolicyProgram(context.Background(), prog, delta); err != nil {
		t.Fatal(err)
	}
	if !reach(a, "udp", "10.0.1.2", "5000", "40001") {
		t.Error("udp/5000 blocked after the doNotTrack edit")
	}
	if ct := sh(t, "ip", "netns", "exec", b, "cat", "/proc/net/nf_conntrack"); !strings.Contains(ct, "sport=40001") {
		t.Errorf("after the edit udp/5000 should be tracked:\n%s", ct)
	}
	// Removing the host endpoint removes every host chain.
	m.DeleteHostEndpoint("b-eth0")
	hostProgram(t, m, dp)
	if out := sh(t, "ip", "netns", "exec", b, "nft", "list", "table", "ip", "brindle"); strings.Contains(out, "hb-") || strings.Contains(out, "he-") {
		t.Errorf("host chains left:\n%s", out)
	}
	if !pings(a, "10.0.1.2") {
		t.Error("no connectivity after the host endpoint is gone")
	}
}
