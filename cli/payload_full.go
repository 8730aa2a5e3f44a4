//go:build !brindle_lean

package cli

// The full build runs every role in-process.
func execServer(args []string) (handled bool, code int) { return false, 0 }

// serverModules: the full build carries no other build; its own modules are all there is.
func serverModules() string { return "" }
