package explain

import (
	"fmt"
	"io"
	"strings"
)

// Render prints the walk for people: numbered hops with their evidence, then either the
// path's outcome or the hop where it stops, what is wrong and which command shows it.
func Render(out io.Writer, r Result) error {
	var b strings.Builder
	flow := r.Query.Protocol
	if r.Query.Port > 0 {
		flow += fmt.Sprintf(" port %d", r.Query.Port)
	}
	fmt.Fprintf(&b, "%s -> %s", r.Query.Src, r.Query.Dst)
	if flow != "" {
		fmt.Fprintf(&b, ", %s", strings.TrimSpace(flow))
	}
	b.WriteString("\n")
	for i, h := range r.Hops {
		fmt.Fprintf(&b, "\n%d. %s", i+1, h.Step)
		if h.Node != "" {
			fmt.Fprintf(&b, " [%s]", h.Node)
		}
		b.WriteString("\n")
		for _, l := range h.Lines {
			b.WriteString("   " + l + "\n")
		}
		if h.Fault != nil {
			fmt.Fprintf(&b, "   PROBLEM: %s\n   see: %s\n", h.Fault.What, h.Fault.Command)
		}
	}
	if r.OK {
		fmt.Fprintf(&b, "\nOK: the path and its reply agree with the datastore (encapsulation %s", r.Encap)
		if r.Outer[1].IsValid() {
			fmt.Fprintf(&b, ", outer %s > %s", r.Outer[0], r.Outer[1])
		}
		b.WriteString(")\n")
	} else if n := len(r.Hops); n > 0 {
		fmt.Fprintf(&b, "\nSTOPPED at hop %d (%s)\n", n, r.Hops[n-1].Step)
	}
	for _, c := range r.Captures {
		fmt.Fprintf(&b, "\ncapture on %s %s for %.0fs, expecting %s:\n", c.Node, c.Dev, c.Seconds, c.Expected)
		switch {
		case c.Err != "":
			fmt.Fprintf(&b, "   failed: %s\n", c.Err)
		case c.Forward+c.Reply+c.Unexpected == 0:
			b.WriteString("   nothing of this flow was seen (is traffic flowing? explain sends none itself)\n")
		default:
			fmt.Fprintf(&b, "   seen: %d forward, %d reply as predicted", c.Forward, c.Reply)
			if c.Unexpected > 0 {
				fmt.Fprintf(&b, "; %d packets of the flow in ANOTHER form than predicted", c.Unexpected)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}
