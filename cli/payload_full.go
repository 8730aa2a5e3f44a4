//go:build !brindle_lean

package cli

// The full build runs every role in-process.
func execServer(args []string) (handled bool, code int) { return false, 0 }
