package node

import (
	"net/http"
	"net/http/pprof"
	"os"
)

// pprofEnv, set to 1, adds Go's /debug/pprof/ handlers to the health port. It is for
// diagnosis only (the churn soak takes heap profiles with it to find what grows); it is off
// by default because a profile exposes the agent's memory layout to anyone who can reach the
// port.
const pprofEnv = "BRINDLE_DEBUG_PPROF"

// addPprof registers the profiling handlers on h when pprofEnv is "1".
func addPprof(h *Health) {
	if os.Getenv(pprofEnv) != "1" {
		return
	}
	h.handle("/debug/pprof/", http.HandlerFunc(pprof.Index))
	h.handle("/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	h.handle("/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
}
