package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/brindle-net/brindle/calc"
	"github.com/google/nftables"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// applyHosts is the common change between resyncs: only the node addresses differ (a node
// joined or left). It sends just the added and removed elements of all-hosts, so a change
// among 10,000 nodes costs two elements. With calc's delta relative to the list written
// last, only the addresses it names are looked up (binary search in both sorted lists)
// instead of walking them.
//
// Deleting set elements makes the kernel wait for an RCU grace period (10-20 ms, measured
// with the nft CLI as well), adding them does not. So a change that only removes hosts (a
// node left) is sent in the background: Apply returns at once and the next nft write waits
// for it (busy stays held until it is done), so writes keep their order. A node that
// left keeps being accepted for those milliseconds; a failure is reported by the next
// Apply, which then re-reads the table. bg reports that busy was handed to the background.
func (n *nftTableRec) applyHosts(want nftSpec, delta *calc.Delta, seq uint64) (bg bool, err error) {
	old := n.last.hosts
	if sameSlice(old, want.hosts) || delta != nil && delta.Seq == seq {
		return false, nil // the very list we wrote: calc shares unchanged outputs
	}
	var add, del []netip.Addr
	if delta != nil && !delta.Full && delta.Prev == seq && seq != 0 {
		add, del = deltaAddrs(old, want.hosts, delta.Hosts)
	} else {
		add, del = diffAddrs(sortedAddrs(old), sortedAddrs(want.hosts))
	}
	n.last.hosts = want.hosts
	switch {
	case len(add)+len(del) == 0:
		return false, nil
	case len(add) == 0:
		go func() {
			defer n.busy.Unlock()
			err := n.sendHosts(nil, del)
			switch {
			case errors.Is(err, unix.ENOENT):
				// Someone removed an element first and the transaction was refused
				// whole: not a failure, but our picture is wrong; re-read next time.
				n.log.Debug("departed host already gone from the tunnel filter", zap.Error(err))
				n.asyncStale = true
			case err != nil:
				n.log.Warn("removing departed hosts from the tunnel filter failed; re-reading the table next time", zap.Error(err))
				n.asyncErr = err
			}
		}()
		return true, nil
	}
	if err := n.sendHosts(add, del); err != nil {
		n.stale = true // read the table back next time
		return false, err
	}
	return false, nil
}

// sendHosts changes the elements of all-hosts in one transaction.
func (n *nftTableRec) sendHosts(add, del []netip.Addr) error {
	c, err := n.h.nft()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	defer c.CloseLasting()
	t := &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4}
	set := &nftables.Set{Table: t, Name: setAllHosts, KeyType: nftables.TypeIPAddr}
	for chunk := range slices.Chunk(addrElems(del), elemChunk) {
		if err := c.SetDeleteElements(set, chunk); err != nil {
			return fmt.Errorf("nftables: set %s: %w", setAllHosts, err)
		}
	}
	if err := addElems(c, set, addrElems(add)); err != nil {
		return fmt.Errorf("nftables: set %s: %w", setAllHosts, err)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: set %s: %w", setAllHosts, err)
	}
	return nil
}

// wait returns once no transaction is in flight.
func (n *nftTableRec) wait() {
	n.busy.Lock()
	n.busy.Unlock()
}

// deltaAddrs sorts the named addresses into added and removed, both lists being sorted.
func deltaAddrs(have, want, named []netip.Addr) (add, del []netip.Addr) {
	for _, a := range named {
		_, inHave := slices.BinarySearchFunc(have, a, netip.Addr.Compare)
		_, inWant := slices.BinarySearchFunc(want, a, netip.Addr.Compare)
		switch {
		case inWant && !inHave:
			add = append(add, a)
		case inHave && !inWant:
			del = append(del, a)
		}
	}
	return add, del
}

// sortedAddrs returns as sorted and without duplicates; calc's sorted list is returned as is.
func sortedAddrs(as []netip.Addr) []netip.Addr {
	less := func(a, b netip.Addr) int { return a.Compare(b) }
	if slices.IsSortedFunc(as, less) && !hasAdjacentDup(as) {
		return as
	}
	return slices.Compact(slices.SortedFunc(slices.Values(as), less))
}

func hasAdjacentDup(as []netip.Addr) bool {
	for i := 1; i < len(as); i++ {
		if as[i] == as[i-1] {
			return true
		}
	}
	return false
}

// diffAddrs walks two sorted lists once: what only want has, and what only have has.
func diffAddrs(have, want []netip.Addr) (add, del []netip.Addr) {
	i, j := 0, 0
	for i < len(have) || j < len(want) {
		switch {
		case j == len(want) || (i < len(have) && have[i].Compare(want[j]) < 0):
			del = append(del, have[i])
			i++
		case i == len(have) || have[i].Compare(want[j]) > 0:
			add = append(add, want[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return add, del
}
