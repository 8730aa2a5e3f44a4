package node

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"time"
)

// Health tracks liveness and readiness per component; the agent is ready only when every
// component that reported is ready (not just the last one to report).
type Health struct {
	mu       sync.Mutex
	parts    map[string]componentHealth
	handlers map[string]http.Handler // more paths on the health port (/metrics)
}

type componentHealth struct {
	Ready  bool      `json:"ready"`
	Live   bool      `json:"live"`
	Detail string    `json:"detail,omitempty"`
	Since  time.Time `json:"since"`
}

// NewHealth returns an empty tracker (not ready until a component reports).
func NewHealth() *Health { return &Health{parts: map[string]componentHealth{}} }

// Report records a component's state.
func (h *Health) Report(component string, live, ready bool, detail string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old, ok := h.parts[component]
	since := time.Now()
	if ok && old.Ready == ready && old.Live == live {
		since = old.Since
	}
	h.parts[component] = componentHealth{Ready: ready, Live: live, Detail: detail, Since: since}
}

// Status returns overall liveness and readiness and the per-component detail.
func (h *Health) Status() (live, ready bool, parts map[string]componentHealth) {
	h.mu.Lock()
	defer h.mu.Unlock()
	live, ready = true, len(h.parts) > 0
	parts = make(map[string]componentHealth, len(h.parts))
	for k, v := range h.parts {
		parts[k] = v
		live = live && v.Live
		ready = ready && v.Ready
	}
	return live, ready, parts
}

// Serve answers /liveness and /readiness (Felix's paths) with 200 or 503 and a JSON body.
func (h *Health) Serve(ctx context.Context, l net.Listener) error {
	mux := http.NewServeMux()
	handler := func(useReady bool) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			live, ready, parts := h.Status()
			ok := live
			if useReady {
				ok = ready
			}
			w.Header().Set("Content-Type", "application/json")
			if !ok {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"live": live, "ready": ready, "components": parts})
		}
	}
	mux.Handle("/liveness", handler(false))
	mux.Handle("/readiness", handler(true))
	for path, hd := range h.handlers {
		mux.Handle(path, hd)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	return nil
}
