package cli

import "strings"

// Server roles are the long-running daemons: they link the etcd server, GoBGP and the
// dataplane. Go runs every linked package's init at every process start (about 10 ms for
// those packages here), and a container runtime starts the CNI plugin once per call, so the
// shipped bin/brindle is a lean build that carries the full build inside it and execs that
// only for these roles (see payload_lean.go and docs/architecture.md).

// serverRole reports whether args (argv) ask for a daemon role. Global flags may come
// before the command; all of them take a value.
func serverRole(args []string) bool {
	words := commandWords(args[1:])
	if len(words) == 0 {
		return false
	}
	switch words[0] {
	case "datastore", "felix", "bgp":
		return true
	case "node":
		return len(words) > 1 && words[1] == "run"
	}
	return false
}

// commandWords returns the first two non-flag arguments, skipping global flags and their values.
func commandWords(args []string) []string {
	var words []string
	for i := 0; i < len(args) && len(words) < 2; i++ {
		a := args[i]
		if len(a) > 1 && a[0] == '-' {
			if !strings.Contains(a, "=") && len(words) == 0 && a != "-h" && a != "--help" {
				i++ // the flag's value
			}
			continue
		}
		words = append(words, a)
	}
	return words
}
