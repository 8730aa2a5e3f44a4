// Package deploy holds the files `brindle install` writes that are not generated: the
// systemd units. @BINDIR@ in a unit stands for the directory the binary is installed in.
package deploy

import (
	"embed"
	"strings"
)

//go:embed systemd/*.service
var units embed.FS

// Units lists the unit file names.
func Units() []string {
	ents, _ := units.ReadDir("systemd")
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// Unit returns the named unit with the binary's directory filled in.
func Unit(name, binDir string) ([]byte, error) {
	b, err := units.ReadFile("systemd/" + name)
	if err != nil {
		return nil, err
	}
	return []byte(strings.ReplaceAll(string(b), "@BINDIR@", strings.TrimRight(binDir, "/"))), nil
}
