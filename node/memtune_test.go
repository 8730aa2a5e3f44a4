package node

import "testing"

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100},
		{1 << 20, 100},  // small heap: Go's usual pacing
		{8 << 20, 50},   // 4 MiB of headroom over 8 MiB live
		{16 << 20, 25},  // the floor
		{400 << 20, 25}, // never below it, however large the view
	} {
		if got := gcPercentFor(c.live); got != c.want {
			t.Errorf("gcPercentFor(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}
