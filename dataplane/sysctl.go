package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/brindle-net/brindle/calc"
	"go.uber.org/zap"
)

// sysctls writes /proc/sys values. It remembers what it last confirmed and only touches
// the kernel for new or changed keys, or for everything when marked stale.
type sysctls struct {
	h     *nsHandles
	log   *zap.Logger
	done  map[string]string
	stale bool
}

func (s *sysctls) apply(want []calc.Sysctl) error {
	var todo []calc.Sysctl
	for _, c := range want {
		if s.stale || s.done[c.Key] != c.Value {
			todo = append(todo, c)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var errs []error
	done := map[string]string{}
	err := s.h.inNS(func() error {
		for _, c := range todo {
			changed, err := ensureSysctl(c.Key, c.Value)
			switch {
			case errors.Is(err, fs.ErrNotExist) && (strings.HasPrefix(c.Key, "net/ipv4/conf/") || strings.HasPrefix(c.Key, "net/ipv6/conf/")):
				// The interface is gone (workload deleted) or not there yet, or the kernel
				// runs without IPv6; the next apply after it appears sets it.
				errs = append(errs, fmt.Errorf("sysctl %s: interface not present", c.Key))
			case err != nil:
				errs = append(errs, fmt.Errorf("sysctl %s: %w", c.Key, err))
			default:
				done[c.Key] = c.Value
				if changed {
					s.log.Info("sysctl set", zap.String("key", c.Key), zap.String("value", c.Value), zap.String("reason", c.Reason))
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if s.stale || s.done == nil {
		s.done = map[string]string{}
	}
	for k, v := range done {
		s.done[k] = v
	}
	// Forget keys no longer wanted, so that a workload interface that comes back is set again.
	keep := make(map[string]bool, len(want))
	for _, c := range want {
		keep[c.Key] = true
	}
	for k := range s.done {
		if !keep[k] {
			delete(s.done, k)
		}
	}
	s.stale = false
	return errors.Join(errs...)
}

// ensureSysctl writes value unless the key already holds it.
func ensureSysctl(key, value string) (bool, error) {
	if strings.Contains(key, "..") {
		return false, fmt.Errorf("invalid key")
	}
	path := "/proc/sys/" + key
	cur, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	if strings.TrimSpace(string(cur)) == value {
		return false, nil
	}
	return true, os.WriteFile(path, []byte(value), 0o644)
}
