package node

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

func TestHealthReadyNeedsEveryComponent(t *testing.T) {
	h := NewHealth()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Serve(ctx, l)
	get := func(path string) int {
		resp, err := http.Get("http://" + l.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/readiness"); got != 503 {
		t.Fatalf("no components: readiness %d, want 503", got)
	}
	h.Report("dataplane", true, true, "")
	h.Report("bgp", true, false, "peers connecting")
	if got := get("/readiness"); got != 503 {
		t.Fatalf("bgp not ready: readiness %d, want 503", got)
	}
	if got := get("/liveness"); got != 200 {
		t.Fatalf("liveness %d, want 200", got)
	}
	h.Report("bgp", true, true, "")
	if got := get("/readiness"); got != 200 {
		t.Fatalf("all ready: readiness %d, want 200", got)
	}
	h.Report("dataplane", false, false, "apply failing")
	if got := get("/liveness"); got != 503 {
		t.Fatalf("dataplane dead: liveness %d, want 503", got)
	}
}

func TestStateFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteStateFile(dir, "nodename", "node1"); err != nil {
		t.Fatal(err)
	}
	if got := ReadNodename(dir); got != "node1" {
		t.Fatalf("nodename %q", got)
	}
	if n, _ := ResolveNodename("", dir); n != "node1" {
		t.Fatalf("resolve %q", n)
	}
	if n, _ := ResolveNodename("flag", dir); n != "flag" {
		t.Fatalf("resolve flag %q", n)
	}
	t.Setenv("BRINDLE_STATE_DIR", "/x")
	if StateDir("") != "/x" || StateDir("/y") != "/y" {
		t.Fatal("state dir precedence")
	}
}
