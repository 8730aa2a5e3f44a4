//go:build !brindle_lean

package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/brindle-net/brindle/logging"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// followLogLevelSignals changes a daemon's log level without a restart: SIGUSR1 switches to
// debug, SIGUSR2 back to the level it was started with (`systemctl kill -s USR1
// brindle-node`). Signals rather than a datastore setting, so that debugging a node that
// cannot reach etcd works too.
func followLogLevelSignals(ctx context.Context, log *zap.Logger, configured string) {
	base, err := logging.ParseLevel(configured)
	if err != nil {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-ch:
			to := base
			if s == syscall.SIGUSR1 {
				to = zapcore.DebugLevel
			}
			old := logging.SetLevel(to)
			// Logged at warning so that the line shows whatever the new level.
			log.Warn("log level changed", zap.Stringer("signal", s), zap.Stringer("from", old), zap.Stringer("to", to))
		}
	}
}
