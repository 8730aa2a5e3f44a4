package cni

import (
	"os"
	"path/filepath"

	"github.com/brindle-net/brindle/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newLogger logs to stderr (which runtimes capture) and, with log_file_path, also appends to
// that file. A log file that cannot be opened does not fail the call: networking matters
// more than the log, and the problem is reported on stderr.
func newLogger(c *NetConf, fields ...zap.Field) *zap.Logger {
	level := c.LogLevel
	if level == "" {
		level = "info"
	}
	base, err := logging.NewTo(os.Stderr, level)
	if err != nil {
		base, _ = logging.NewTo(os.Stderr, "info")
	}
	if c.LogFilePath != "" {
		if err := os.MkdirAll(filepath.Dir(c.LogFilePath), 0o755); err == nil {
			if f, err := os.OpenFile(c.LogFilePath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				fileLog, ferr := logging.NewTo(f, level)
				if ferr == nil {
					base = zap.New(zapcore.NewTee(base.Core(), fileLog.Core()))
				}
			} else {
				base.Warn("cannot open log_file_path; logging to stderr only", zap.String("path", c.LogFilePath), zap.Error(err))
			}
		}
	}
	return base.With(fields...)
}
