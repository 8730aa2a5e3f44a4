package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/ipam"
)

func TestIPAMCommands(t *testing.T) {
	e := newCLIEnv(t)
	e.ok("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.244.0.0/16, blockSize: 24}\n---\n"+
		"apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: node1}\nspec: {}\n", "apply", "-f", "-")
	a := ipam.New(e.store, ipam.Options{})
	v4, _, err := a.AutoAssign(context.Background(), ipam.AutoAssignArgs{Num4: 3, HandleID: "net.c1", Hostname: "node1",
		Attrs: map[string]string{ipam.AttrContainerID: "c1"}})
	if err != nil {
		t.Fatal(err)
	}
	blk := v4[0].Masked().String()
	out := e.ok("", "ipam", "show", "--show-blocks")
	for _, want := range []string{
		"GROUPING|CIDR|IPS TOTAL|IPS IN USE|IPS FREE",
		"IP Pool|10.244.0.0/16|65536|3 (0%)|65533 (100%)",
		"Block|" + blk + "|256|3 (1%)|253 (99%)",
	} {
		if !strings.Contains(cells(out), want) {
			t.Errorf("ipam show lacks %q:\n%s", want, out)
		}
	}
	out = e.ok("", "ipam", "show", "--ip", v4[1].Addr().String())
	if !strings.Contains(out, "is in use") || !strings.Contains(out, "Handle ID: net.c1") || !strings.Contains(out, "containerID: c1") {
		t.Errorf("show --ip:\n%s", out)
	}
	// The workload has no endpoint: with no grace period left it is a leak, and check fails.
	if msg := e.fails("", "ipam", "check", "--grace-period", "1ns"); !strings.Contains(msg, "3 problem(s)") {
		t.Errorf("check: %s", msg)
	}
	e.ok("", "ipam", "check") // within the default grace period: in flight, not a problem
	out = e.ok("", "ipam", "release", "--ip", v4[0].Addr().String())
	if !strings.Contains(out, "Successfully released IP address "+v4[0].Addr().String()) {
		t.Errorf("release: %s", out)
	}
	if msg := e.fails("", "ipam", "release", "--ip", v4[0].Addr().String()); !strings.Contains(msg, "is not assigned") {
		t.Errorf("second release: %s", msg)
	}
	if msg := e.fails("", "ipam", "release", "--ip", "nonsense"); !strings.Contains(msg, "--ip") {
		t.Errorf("bad ip: %s", msg)
	}
	if out = e.ok("", "ipam", "gc", "--dry-run", "--grace-period", "1ns"); !strings.Contains(out, "Dry run") {
		t.Errorf("gc dry run: %s", out)
	}
	if out = e.ok("", "ipam", "gc", "--grace-period", "1ns"); !strings.Contains(out, "Released 2 leaked address(es)") {
		t.Errorf("gc: %s", out)
	}
	e.ok("", "ipam", "check", "--grace-period", "1ns")
	if msg := e.fails("", "ipam", "configure", "--max-blocks-per-host=4"); !strings.Contains(msg, "requires strictAffinity") {
		t.Errorf("configure: %s", msg)
	}
	if out = e.ok("", "ipam", "configure", "--strictaffinity=true", "--max-blocks-per-host=4"); !strings.Contains(out, "StrictAffinity to: true, MaxBlocksPerHost to: 4") {
		t.Errorf("configure: %s", out)
	}
}

// cells flattens a table to one "a|b|c" line per row, so tests do not depend on widths.
func cells(table string) string {
	var out []string
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		parts := strings.Split(strings.Trim(line, "|"), "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return strings.Join(out, "\n")
}
