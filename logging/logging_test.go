package logging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

func logFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func contents(t *testing.T, f *os.File) string {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Under systemd (JOURNAL_STREAM names our stderr) lines carry a syslog priority and no
// timestamp of their own: journald adds one.
func TestJournalFormatUnderSystemd(t *testing.T) {
	f := logFile(t)
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", strconv.FormatUint(uint64(st.Dev), 10)+":"+strconv.FormatUint(st.Ino, 10))
	log, err := NewFormat(f, "info", "")
	if err != nil {
		t.Fatal(err)
	}
	log.Named("node").Info("agent started", zap.String("name", "n1"))
	log.Warn("slow")
	log.Debug("hidden")
	got := contents(t, f)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "<6>node agent started") || !strings.Contains(lines[0], `"name": "n1"`) ||
		!strings.HasPrefix(lines[1], "<4>slow") {
		t.Errorf("journal lines:\n%s", got)
	}
	if regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d`).MatchString(got) {
		t.Errorf("a timestamp in journal lines:\n%s", got)
	}
	// A stream that is not the journal's (a pipe that inherited the variable) gets JSON.
	t.Setenv("JOURNAL_STREAM", "1:2")
	if UnderJournal(f) {
		t.Error("UnderJournal for a file that is not the journal's stream")
	}
}

// JSON when asked, and SetLevel changes the process logger's level at run time.
func TestJSONAndRuntimeLevel(t *testing.T) {
	f := logFile(t)
	log, err := NewFormat(f, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("before")
	if old := SetLevel(zapcore.DebugLevel); old != zapcore.InfoLevel {
		t.Errorf("SetLevel returned %v, want info", old)
	}
	log.Debug("after")
	got := strings.TrimSpace(contents(t, f))
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil || m["msg"] != "after" || m["level"] != "debug" {
		t.Errorf("want one JSON debug line 'after', got %q (%v)", got, err)
	}
	if _, err := NewFormat(f, "info", "xml"); err == nil || !strings.Contains(err.Error(), "log format") {
		t.Errorf("bad format accepted: %v", err)
	}
}
