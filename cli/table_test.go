package cli

import (
	"bytes"
	"strings"
	"testing"
)

// calicoctlUsageTable is what calicoctl's `ipam show` (olekukonko/tablewriter v0.0.5 with
// its defaults, calicoctl/commands/ipam/show.go) prints for these rows, rendered by that
// library outside this repository: number cells are right-aligned, "n (p%)" cells are not.
const calicoctlUsageTable = `+----------+---------------+-----------+------------+--------------+
| GROUPING |     CIDR      | IPS TOTAL | IPS IN USE |   IPS FREE   |
+----------+---------------+-----------+------------+--------------+
| IP Pool  | 10.244.0.0/16 |     65536 | 3 (0%)     | 65533 (100%) |
| Block    | 10.244.0.0/24 |       256 | 3 (1%)     | 253 (99%)    |
| IP Pool  | fd00::/112    |     65536 | 0 (0%)     | 65536 (100%) |
+----------+---------------+-----------+------------+--------------+
`

func TestWriteTableAlignsAsCalicoctl(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, []string{"GROUPING", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS FREE"}, [][]string{
		{"IP Pool", "10.244.0.0/16", "65536", "3 (0%)", "65533 (100%)"},
		{"Block", "10.244.0.0/24", "256", "3 (1%)", "253 (99%)"},
		{"IP Pool", "fd00::/112", "65536", "0 (0%)", "65536 (100%)"},
	})
	if b.String() != calicoctlUsageTable {
		t.Errorf("got:\n%s\nwant (calicoctl):\n%s", b.String(), calicoctlUsageTable)
	}
	for cell, numeric := range map[string]bool{"256": true, "1,024": true, "-3": true, "0.5": true,
		"10.0.0.1": false, "3 (1%)": false, "1.6777e+07": false, "": false, "12,34": false} {
		if got := numericCell.MatchString(cell); got != numeric {
			t.Errorf("%q numeric = %v, want %v", cell, got, numeric)
		}
	}
}

// brindle ipam show, end to end: the IPS TOTAL column is right-aligned.
func TestIPAMShowRightAlignsNumbers(t *testing.T) {
	e := newCLIEnv(t)
	e.ok("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.244.0.0/16, blockSize: 24}\n", "apply", "-f", "-")
	out := e.ok("", "ipam", "show")
	if !strings.Contains(out, "| IP Pool  | 10.244.0.0/16 |     65536 | 0 (0%)     | 65536 (100%) |") {
		t.Errorf("ipam show:\n%s", out)
	}
}
