package policyagent

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/brindle-net/brindle/test/testbed"
)

// The agent's policy table as the dataplane documents it (docs/dataplane.md): verdict maps
// from workload interface to its endpoint chain. An endpoint is enforced once its interface is
// in both maps: the agent writes a sync in one transaction, so the map elements appear with
// every chain and set they jump to.
var brindleTable = &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "brindle"}

type kernel struct {
	n    *testbed.Netns
	conn *nftables.Conn
}

func newKernel(n *testbed.Netns) (*kernel, error) {
	conn, err := nftables.New(nftables.WithNetNSFd(int(n.NS)))
	if err != nil {
		return nil, err
	}
	return &kernel{n: n, conn: conn}, nil
}

// mapIfaces returns the interfaces in a verdict map (fw-map, tw-map); none if it is absent.
func (k *kernel) mapIfaces(name string) map[string]bool {
	set, err := k.conn.GetSetByName(brindleTable, name)
	if err != nil {
		return nil
	}
	els, err := k.conn.GetSetElements(set)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, e := range els {
		out[strings.TrimRight(string(e.Key), "\x00")] = true
	}
	return out
}

// enforced reports how many of ifaces are in both verdict maps.
func (k *kernel) enforced(ifaces []string) int {
	fw, tw := k.mapIfaces("fw-map"), k.mapIfaces("tw-map")
	n := 0
	for _, i := range ifaces {
		if fw[i] && tw[i] {
			n++
		}
	}
	return n
}

// chainRules returns the number of rules in a chain of the table (0 if it is absent).
func (k *kernel) chainRules(chain string) int {
	rules, err := k.conn.GetRules(brindleTable, &nftables.Chain{Name: chain, Table: brindleTable})
	if err != nil {
		return 0
	}
	return len(rules)
}

// commits watches nftables commits in the namespace (NFT_MSG_NEWGEN after each transaction,
// through the netlink monitor group) and timestamps those that changed anything. Only for
// single changes: during a cold start a listener makes the kernel build a message per
// object written, which would slow the agent being measured.
type commits struct {
	mon *nftables.Monitor
	ch  chan time.Time
}

func (k *kernel) watchCommits() (*commits, error) {
	mon := nftables.NewMonitor()
	evs, err := k.conn.AddGenerationalMonitor(mon)
	if err != nil {
		return nil, err
	}
	c := &commits{mon: mon, ch: make(chan time.Time, 1024)}
	go func() {
		for ev := range evs {
			if ev.GeneratedBy != nil && ev.GeneratedBy.Type == nftables.MonitorEventType(unix.NFT_MSG_NEWGEN) && len(ev.Changes) > 0 {
				select {
				case c.ch <- time.Now():
				default:
				}
			}
		}
	}()
	return c, nil
}

// next waits for the first commit after t0.
func (c *commits) next(t0 time.Time, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		select {
		case at := <-c.ch:
			if at.After(t0) {
				return at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("no nftables commit within %v", timeout)
		}
	}
}

func (c *commits) drain() {
	for {
		select {
		case <-c.ch:
		default:
			return
		}
	}
}

func (c *commits) close() { c.mon.Close() }

// addVeths creates the host-side interfaces of endpoints lo..hi-1 in the host namespace
// (peers stay there too, down: nothing is sent through them), so the agent's routes to
// the endpoints have a device, as they would after CNI ADD.
func addVeths(n *testbed.Netns, lo, hi int) error {
	for j := lo; j < hi; j++ {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: wepIface(j)}, PeerName: fmt.Sprintf("bpap%d", j)}
		if err := n.NL.LinkAdd(v); err != nil && err != unix.EEXIST {
			return fmt.Errorf("veth %s: %w", wepIface(j), err)
		}
		if err := n.NL.LinkSetUp(v); err != nil {
			return err
		}
	}
	return nil
}
