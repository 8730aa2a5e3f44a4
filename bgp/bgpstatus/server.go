package bgp

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

// The agent's status socket: <state dir>/brindle.sock, state dir from BRINDLE_STATE_DIR or
// Calico's /var/lib/calico. HTTP over a unix socket keeps the client a plain http.Client
// and lets the agent mount more paths next to StatusPath.
const (
	DefaultStateDir = "/var/lib/calico"
	StateDirEnv     = "BRINDLE_STATE_DIR"
	SocketName      = "brindle.sock"
	StatusPath      = "/v1/bgp/status"
)

// StatusSocketPath returns the socket path for the state dir in the environment.
func StatusSocketPath() string {
	dir := os.Getenv(StateDirEnv)
	if dir == "" {
		dir = DefaultStateDir
	}
	return filepath.Join(dir, SocketName)
}

// StatusSource is what the status endpoint reads; *Speaker implements it.
type StatusSource interface {
	Status() Status
}

// StatusReply is the JSON body served at StatusPath. BGP is nil when the agent runs no
// speaker (a felix-only role), which `node status` reports like calicoctl's "BIRD is not
// running".
type StatusReply struct {
	BGP *Status `json:"bgp"`
}

// StatusHandler serves StatusReply at StatusPath. src may be nil.
func StatusHandler(src StatusSource) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+StatusPath, func(w http.ResponseWriter, _ *http.Request) {
		var reply StatusReply
		if src != nil {
			st := src.Status()
			reply.BGP = &st
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply)
	})
	return mux
}

// ServeStatus serves StatusHandler(src) on ln until ctx ends, then closes ln.
func ServeStatus(ctx context.Context, ln net.Listener, src StatusSource) error {
	srv := &http.Server{Handler: StatusHandler(src), ReadHeaderTimeout: 5 * time.Second}
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

// ListenStatusSocket creates the unix socket at path, replacing a stale one left by a
// previous agent (the agent holds its own lock, so no live agent owns it), mode 0600:
// peer state is root-only as it is for calicoctl.
func ListenStatusSocket(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
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
