package dataplane

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// ApplyPolicy converges the policy part of the `ip brindle` table (`ip6 brindle` when
// spec.V6) to spec in one
// transaction holding only what changed since the last call (see polTable). It is
// independent of Apply (routes, tunnels, NAT) so that a policy edit does not wait for
// route programming, and vice versa.
func (d *Dataplane) ApplyPolicy(ctx context.Context, spec PolicySpec) error {
	d.polMu.Lock()
	defer d.polMu.Unlock()
	d.resyncMu.Lock()
	if d.polResync {
		d.pol.stale, d.pol6.stale, d.polResync = true, true, false
	}
	d.resyncMu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if spec.V6 {
		return d.pol6.apply(spec)
	}
	return d.pol.apply(spec)
}

// PolicyWrites counts policy transactions sent since New (tests and benchmarks).
func (d *Dataplane) PolicyWrites() int {
	d.polMu.Lock()
	defer d.polMu.Unlock()
	return d.pol.writes
}

// RuleCounter is one kernel rule's counter, tagged with the Calico rule it enforces
// ("r<index>:<action>", or the endpoint chain's own steps such as "tier-drop:<tier>").
type RuleCounter struct {
	Tag     string `json:"tag"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// ChainCounters reads the counters of the named chains; a chain that does not exist (yet)
// is left out. The first entry of each chain counts every packet that entered it.
func (d *Dataplane) ChainCounters(chains []string) (map[string][]RuleCounter, error) {
	c, err := d.h.nft()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	defer c.CloseLasting()
	t := &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4}
	out := map[string][]RuleCounter{}
	for _, name := range chains {
		rules, err := c.GetRules(t, &nftables.Chain{Name: name, Table: t})
		if err != nil {
			continue // gone or not yet written
		}
		var rcs []RuleCounter
		for _, r := range rules {
			tag, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			if tag == polSupersededTag {
				break // the rest is superseded, waiting to be collected
			}
			if strings.HasPrefix(tag, polHashTag) {
				tag = "entered"
			}
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					rcs = append(rcs, RuleCounter{Tag: tag, Packets: ctr.Packets, Bytes: ctr.Bytes})
				}
			}
		}
		out[name] = rcs
	}
	return out, nil
}

// tableLost reports whether someone deleted or flushed the table since we wrote it: the
// table is gone, or a base chain we filled holds no rules. Cheap (three small dumps), so
// Watch runs it twice a second.
func (d *Dataplane) tableLost() bool {
	d.polMu.Lock()
	wrotePol := d.pol.have != nil && d.pol.have.table
	wrotePol6 := d.pol6.have != nil && d.pol6.have.table
	d.polMu.Unlock()
	c, err := d.h.nft()
	if err != nil {
		return false
	}
	defer c.CloseLasting()
	t, err := c.ListTableOfFamily(nftTable, nftables.TableFamilyIPv4)
	if err != nil {
		return wrotePol || d.natWritten() || wrotePol6
	}
	check := []string{}
	if wrotePol {
		check = append(check, chainPolForward)
	}
	if d.natWritten() {
		check = append(check, chainPostNAT)
	}
	for _, name := range check {
		rules, err := c.GetRules(t, &nftables.Chain{Name: name, Table: t})
		if err != nil || len(rules) == 0 {
			return true
		}
	}
	return wrotePol6 && d.table6Lost(c)
}

// table6Lost is tableLost for the IPv6 policy's base chain in `ip6 brindle`.
func (d *Dataplane) table6Lost(c *nftables.Conn) bool {
	t := polTableOf(true)
	rules, err := c.GetRules(t, &nftables.Chain{Name: chainPolForward, Table: t})
	return err != nil || len(rules) == 0
}

func (d *Dataplane) natWritten() bool {
	d.nft.busy.Lock()
	defer d.nft.busy.Unlock()
	return d.nft.elems != nil
}

// PolicyStale reports whether the next ApplyPolicy must read the table back (a resync was
// asked for, or the last write failed): the agent then applies even without a change.
func (d *Dataplane) PolicyStale() bool {
	d.resyncMu.Lock()
	r := d.polResync
	d.resyncMu.Unlock()
	if r {
		return true
	}
	d.polMu.Lock()
	defer d.polMu.Unlock()
	return d.pol.stale || d.pol6.stale && d.pol6.have != nil
}
