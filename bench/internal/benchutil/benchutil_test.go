package benchutil

import (
	"os"
	"strings"
	"testing"
)

func TestProcKiB(t *testing.T) {
	rss, err := ProcKiB(os.Getpid(), "VmRSS:")
	if err != nil || rss <= 0 {
		t.Fatalf("VmRSS of this process = %d, %v; want > 0", rss, err)
	}
	if _, err := ProcKiB(os.Getpid(), "NoSuchField:"); err == nil || !strings.Contains(err.Error(), "NoSuchField:") {
		t.Fatalf("missing field: err = %v, want one naming the field", err)
	}
}

func TestLoadAvg(t *testing.T) {
	if f := strings.Fields(LoadAvg()); len(f) != 3 {
		t.Fatalf("LoadAvg() = %q, want three fields", LoadAvg())
	}
}
