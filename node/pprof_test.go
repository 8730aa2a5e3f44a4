package node

import "testing"

// The profiling handlers are on the health port only when asked for.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []string{"", "0", "1"} {
		t.Setenv(pprofEnv, on)
		h := NewHealth()
		addPprof(h)
		_, got := h.handlers["/debug/pprof/"]
		if want := on == "1"; got != want {
			t.Errorf("%s=%q: /debug/pprof/ served %v, want %v", pprofEnv, on, got, want)
		}
	}
}
