package node

import (
	"go.uber.org/zap"

	"github.com/brindle-net/brindle/calc"
)

// maxSkipLines bounds the skipped decisions logged after one computation: a cold start of a
// large cluster may skip many inputs at once, and the count says enough for the rest.
const maxSkipLines = 20

// skipLog logs the inputs calc newly decided to skip (an IPv6 block, a node without an
// address), once when the decision appears rather than on every sync; `brindle node
// status` style tools can read the full list from calc's output.
type skipLog struct {
	last map[calc.Decision]struct{}
	prev []calc.Decision // calc's slices are never modified once returned
}

func (s *skipLog) report(log *zap.Logger, cur []calc.Decision) {
	if len(cur) == len(s.prev) && (len(cur) == 0 || &cur[0] == &s.prev[0]) {
		return // the same list as last time (calc reuses it when nothing changed)
	}
	s.prev = cur
	next := make(map[calc.Decision]struct{}, len(cur))
	logged, more := 0, 0
	for _, d := range cur {
		next[d] = struct{}{}
		if _, seen := s.last[d]; seen {
			continue
		}
		if logged == maxSkipLines {
			more++
			continue
		}
		logged++
		log.Info("not programmed", zap.String("subject", d.Subject), zap.String("reason", d.Reason))
	}
	if more > 0 {
		log.Info("more inputs not programmed", zap.Int("count", more))
	}
	s.last = next
}
