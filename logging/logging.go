// Package logging builds brindle's zap loggers: readable console lines on a terminal,
// journal lines (no timestamp of our own, syslog priority prefix) under systemd, JSON lines
// otherwise (files, CI) or when asked.
package logging

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// ParseLevel accepts zap's and Calico's level names (e.g. "Info", "warning", "debug").
func ParseLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return zapcore.InfoLevel, nil
	case "debug", "trace":
		return zapcore.DebugLevel, nil
	case "warn", "warning":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	case "fatal", "panic", "none":
		return zapcore.FatalLevel, nil
	}
	return 0, fmt.Errorf("log level %q: must be one of debug, info, warning, error, fatal", s)
}

// Formats accepted by NewFormat ("" is auto).
const (
	FormatAuto    = "auto"    // console on a terminal, journal under systemd, else JSON
	FormatJSON    = "json"    // one JSON object per line
	FormatConsole = "console" // timestamped, human-readable
	FormatJournal = "journal" // <priority>message fields, journald adds time and unit
)

// process is the level of the logger New built last: the one the daemon logs with, which
// SetLevel changes at run time (SIGUSR1/SIGUSR2 in `brindle node run`).
var process atomic.Pointer[zap.AtomicLevel]

// New returns a logger writing to stderr at the given level, in the format named by
// BRINDLE_LOG_FORMAT (auto when unset).
func New(level string) (*zap.Logger, error) {
	return NewFormat(os.Stderr, level, os.Getenv("BRINDLE_LOG_FORMAT"))
}

// NewTo returns a logger writing to f; console format if f is a terminal, JSON otherwise.
func NewTo(f *os.File, level string) (*zap.Logger, error) {
	return newLogger(f, level, FormatAuto, false)
}

// NewFormat returns a logger writing to f in the given format; its level can be changed
// with SetLevel.
func NewFormat(f *os.File, level, format string) (*zap.Logger, error) {
	return newLogger(f, level, format, true)
}

func newLogger(f *os.File, level, format string, global bool) (*zap.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(format) {
	case "", FormatAuto:
		switch {
		case isTerminal(f):
			format = FormatConsole
		case UnderJournal(f):
			format = FormatJournal
		default:
			format = FormatJSON
		}
	case FormatJSON, FormatConsole, FormatJournal:
		format = strings.ToLower(format)
	default:
		return nil, fmt.Errorf("log format %q: must be one of auto, json, console, journal", format)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case FormatConsole:
		if isTerminal(f) {
			encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		} else {
			encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(encCfg)
	case FormatJournal:
		enc = newJournalEncoder(encCfg)
	default:
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	al := zap.NewAtomicLevelAt(lvl)
	if global {
		process.Store(&al)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(f), al)), nil
}

// SetLevel changes the level of the process logger (the last one NewFormat or New built)
// and returns the level it had. It does nothing when none was built.
func SetLevel(l zapcore.Level) (old zapcore.Level) {
	al := process.Load()
	if al == nil {
		return l
	}
	old = al.Level()
	al.SetLevel(l)
	return old
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
