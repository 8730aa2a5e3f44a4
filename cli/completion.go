package cli

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// completionCommand prints a shell completion script. bash and zsh ask the binary itself
// for the words (urfave's hidden --generate-bash-completion, which knows every command and
// flag of this build); fish gets a static script generated from the command tree.
func completionCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "bash: brindle completion bash > /etc/bash_completion.d/brindle\n" +
			"zsh:  brindle completion zsh > \"${fpath[1]}/_brindle\"\n" +
			"fish: brindle completion fish > ~/.config/fish/completions/brindle.fish",
		Action: func(c *ucli.Context) error {
			name := c.App.Name
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(c.App.Writer, strings.ReplaceAll(bashCompletion, "@NAME@", name))
			case "zsh":
				fmt.Fprint(c.App.Writer, strings.ReplaceAll(zshCompletion, "@NAME@", name))
			case "fish":
				s, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Fprint(c.App.Writer, s)
			default:
				return fmt.Errorf("completion: want one of bash, zsh, fish (got %q)", c.Args().First())
			}
			return nil
		},
	}
}

// The words typed so far (without the one being completed, unless it is a flag) are passed
// back to the binary with --generate-bash-completion, which prints the candidates.
const bashCompletion = `# bash completion for @NAME@
_@NAME@_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local args=("${COMP_WORDS[@]:1:COMP_CWORD-1}")
  [[ "$cur" == -* ]] && args+=("$cur")
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" "${args[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o default -F _@NAME@_complete @NAME@
`

const zshCompletion = `#compdef @NAME@
_@NAME@_complete() {
  local cur=${words[CURRENT]}
  local -a args opts
  args=("${(@)words[2,CURRENT-1]}")
  [[ $cur == -* ]] && args+=("$cur")
  opts=("${(@f)$(${words[1]} "${(@)args}" --generate-bash-completion 2>/dev/null)}")
  if [[ -n ${opts[1]} ]]; then
    compadd -- "${(@)opts%%:*}"
  else
    _files
  fi
}
compdef _@NAME@_complete @NAME@
`
