// Package logging builds brindle's zap loggers: readable console lines on a terminal,
// JSON lines otherwise (systemd, files, CI).
package logging

import (
	"fmt"
	"os"
	"strings"

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

// New returns a logger writing to stderr at the given level.
func New(level string) (*zap.Logger, error) {
	return NewTo(os.Stderr, level)
}

// NewTo returns a logger writing to f; console format if f is a terminal, JSON otherwise.
func NewTo(f *os.File, level string) (*zap.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if isTerminal(f) {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(f), zap.NewAtomicLevelAt(lvl))
	return zap.New(core), nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
