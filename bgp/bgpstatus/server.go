package bgpstatus

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// The agent's status socket is <state dir>/brindle.sock. HTTP over a unix socket keeps the
// client a plain http.Client and lets the agent mount more paths next to Path.
const (
	SocketName = "brindle.sock"
	Path       = "/v1/bgp/status"
)

// SocketPath returns the socket inside stateDir.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// Source is what the endpoint reads; *bgp.Speaker implements it.
type Source interface {
	Status() Status
}

// Handler serves Reply at Path (GET). src may be nil: no speaker runs.
func Handler(src Source) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, _ *http.Request) {
		var reply Reply
		if src != nil {
			st := src.Status()
			reply.BGP = &st
		}
		if ws, ok := src.(WireGuardSource); ok {
			reply.WireGuard, reply.WireGuardV6 = ws.WireGuardStatus(false), ws.WireGuardStatus(true)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply)
	})
	return mux
}

// Serve serves h on ln until ctx ends, then shuts the server down (closing ln).
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		case <-done:
		}
	}()
	err := srv.Serve(ln)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Listen creates the unix socket at path, mode 0600 (peer state is root-only, as it is for
// calicoctl). A socket file left by an agent that died is removed first; the caller must
// be the only agent for this state dir.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Fetch asks the agent listening on the unix socket at path for its status.
func Fetch(ctx context.Context, path string) (*Reply, error) {
	var r Reply
	if err := GetJSON(ctx, path, Path, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetJSON GETs urlPath from the agent on the unix socket at sock and decodes the JSON reply
// into v: the one client of every path on the status socket (node/epstatus uses it too).
func GetJSON(ctx context.Context, sock, urlPath string, v any) error {
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://brindle"+urlPath, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("status socket " + sock + ": " + resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
