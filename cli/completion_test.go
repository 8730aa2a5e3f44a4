package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The bash script completes from the binary itself: sourced in a real bash with the test
// binary standing in for brindle (TestMain), it offers commands and subcommands.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	if err := os.Symlink(selfBinary(t), filepath.Join(dir, "brindle")); err != nil {
		t.Fatal(err)
	}
	script, err := brindle(t, "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.bash"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		cmd := exec.Command(bash, "--norc", "-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _brindle_complete; printf '%s\n' "${COMPREPLY[@]}"`,
			"x", filepath.Join(dir, "c.bash"))
		cmd.Args = append(cmd.Args, words...)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	if got := complete("brindle", "ins"); len(got) != 1 || got[0] != "install" {
		t.Errorf("brindle ins<TAB>: %q, want install", got)
	}
	if got := complete("brindle", "node", "d"); len(got) != 1 || got[0] != "diags" {
		t.Errorf("brindle node d<TAB>: %q, want diags", got)
	}
	if got := complete("brindle", "install", "--dry"); len(got) != 1 || got[0] != "--dry-run" {
		t.Errorf("brindle install --dry<TAB>: %q, want --dry-run", got)
	}
}

func TestCompletionShells(t *testing.T) {
	for shell, want := range map[string]string{"zsh": "compdef _brindle_complete brindle", "fish": "complete -c brindle"} {
		out, err := brindle(t, "completion", shell)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("completion %s: %v, output lacks %q", shell, err, want)
		}
	}
	if _, err := brindle(t, "completion", "tcsh"); err == nil || !strings.Contains(err.Error(), "bash, zsh, fish") {
		t.Errorf("completion tcsh: %v", err)
	}
}
