package bgp

import (
	"fmt"
	"sort"
	"strings"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// zapLogger adapts zap to GoBGP's logger. GetLevel reports what zap really has enabled,
// because GoBGP builds debug output only when GetLevel says Debug (gobgp.md §1); lying
// "Info" would hide connect errors, lying "Debug" would cost allocations for nothing.
type zapLogger struct {
	l *zap.Logger
}

func newZapLogger(l *zap.Logger) *zapLogger {
	return &zapLogger{l: l.Named("gobgp")}
}

func zapFields(f gobgplog.Fields) []zap.Field {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys) // stable output for humans and golden logs
	out := make([]zap.Field, 0, len(f))
	for _, k := range keys {
		out = append(out, zap.Any(k, f[k]))
	}
	return out
}

// Panic and Fatal only guard "code logic bug" paths in GoBGP. zap's Fatal would exit the
// process from inside a library; log and panic instead so the agent's recovery decides.
func (z *zapLogger) Panic(m string, f gobgplog.Fields) {
	z.l.Error(m, zapFields(f)...)
	panic(fmt.Sprintf("gobgp: %s %v", m, f))
}

func (z *zapLogger) Fatal(m string, f gobgplog.Fields) { z.Panic(m, f) }

func (z *zapLogger) Error(m string, f gobgplog.Fields) { z.l.Error(m, zapFields(f)...) }

// Warn passes GoBGP's warnings on, except two harmless ones that greeted every agent start:
// "cannot set TTL (255) for TCPListener" (GoBGP tries it on every listener and the kernel
// refuses it for listening sockets, "operation not supported") and "both option for
// route-monitoring-policy is obsoleted" (the BMP policy chosen on purpose, see peerdown.go).
func (z *zapLogger) Warn(m string, f gobgplog.Fields) {
	if strings.HasPrefix(m, "cannot set TTL") || strings.HasPrefix(m, "both option for route-monitoring-policy") {
		z.l.Debug(m, zapFields(f)...)
		return
	}
	z.l.Warn(m, zapFields(f)...)
}
func (z *zapLogger) Debug(m string, f gobgplog.Fields) { z.l.Debug(m, zapFields(f)...) }

func (z *zapLogger) Info(m string, f gobgplog.Fields) { z.l.Info(m, zapFields(f)...) }

// SetLevel is ignored: the level belongs to the agent's zap configuration.
func (z *zapLogger) SetLevel(gobgplog.LogLevel) {}

func (z *zapLogger) GetLevel() gobgplog.LogLevel {
	core := z.l.Core()
	switch {
	case core.Enabled(zapcore.DebugLevel):
		return gobgplog.DebugLevel
	case core.Enabled(zapcore.InfoLevel):
		return gobgplog.InfoLevel
	case core.Enabled(zapcore.WarnLevel):
		return gobgplog.WarnLevel
	case core.Enabled(zapcore.ErrorLevel):
		return gobgplog.ErrorLevel
	}
	return gobgplog.FatalLevel
}
