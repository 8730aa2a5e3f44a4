package logging

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// UnderJournal reports whether f is connected to systemd's journal: systemd sets
// JOURNAL_STREAM=<device>:<inode> for a unit's stdout/stderr stream (systemd.exec(5)), and
// the descriptor must still be that stream (a shell pipe inherited the variable but is not).
func UnderJournal(f *os.File) bool {
	dev, ino, ok := strings.Cut(os.Getenv("JOURNAL_STREAM"), ":")
	if !ok {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	return strconv.FormatUint(uint64(st.Dev), 10) == dev && strconv.FormatUint(st.Ino, 10) == ino
}

// journalEncoder writes "<N>logger: message key=value ..." lines. The journal stamps each
// line with its own time and unit, so a timestamp of ours would be printed twice; the
// <N> prefix (sd-daemon(3)) gives the line its syslog priority, so `journalctl -p warning`
// works. Fields are encoded as by the console encoder (JSON object after the message).
var journalPool = buffer.NewPool()

type journalEncoder struct {
	zapcore.Encoder
}

func newJournalEncoder(cfg zapcore.EncoderConfig) zapcore.Encoder {
	cfg.TimeKey, cfg.LevelKey, cfg.CallerKey = "", "", ""
	cfg.ConsoleSeparator = " "
	return journalEncoder{zapcore.NewConsoleEncoder(cfg)}
}

func (e journalEncoder) Clone() zapcore.Encoder { return journalEncoder{e.Encoder.Clone()} }

func (e journalEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	body, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return nil, err
	}
	out := journalPool.Get()
	fmt.Fprintf(out, "<%d>", syslogPriority(ent.Level))
	_, _ = out.Write(body.Bytes())
	body.Free()
	return out, nil
}

// syslogPriority maps zap's levels to syslog's (journald's PRIORITY=).
func syslogPriority(l zapcore.Level) int {
	switch {
	case l <= zapcore.DebugLevel:
		return 7
	case l == zapcore.InfoLevel:
		return 6
	case l == zapcore.WarnLevel:
		return 4
	case l == zapcore.ErrorLevel:
		return 3
	default:
		return 2
	}
}
