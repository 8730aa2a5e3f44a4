package cli

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
)

// ipamCommand is `brindle ipam ...`, with calicoctl's output where calicoctl has the verb.
func ipamCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "ipam",
		Usage: "IP address management: show usage, check, release, garbage-collect, configure",
		Subcommands: []*ucli.Command{
			{Name: "show", Usage: "show pool (and block) usage, or who holds one address",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "show-blocks", Usage: "also list every block"},
					&ucli.StringFlag{Name: "ip", Usage: "show who holds this address"},
				},
				Action: withAllocator(ipamShow)},
			{Name: "check", Usage: "report leaked addresses, handle mismatches, orphaned blocks, duplicates (exit 1 on problems)",
				Flags:  []ucli.Flag{&ucli.DurationFlag{Name: "grace-period", Value: ipam.DefaultGracePeriod, Usage: "allocations younger than this are assumed to be ADDs in flight"}},
				Action: withAllocator(ipamCheck)},
			{Name: "release", Usage: "release one address",
				Flags:  []ucli.Flag{&ucli.StringFlag{Name: "ip", Required: true, Usage: "address to release"}},
				Action: withAllocator(ipamRelease)},
			{Name: "gc", Usage: "reclaim leaked addresses and stale affinities",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "dry-run", Usage: "only report what would be reclaimed"},
					&ucli.DurationFlag{Name: "grace-period", Value: ipam.DefaultGracePeriod, Usage: "never reclaim allocations younger than this"},
				},
				Action: withAllocator(ipamGC)},
			{Name: "configure", Usage: "set strict affinity and the per-host block limit",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "strictaffinity", Usage: "true or false"},
					&ucli.IntFlag{Name: "max-blocks-per-host", Value: -1, Usage: "0 = Calico's default (20)"},
				},
				Action: withAllocator(ipamConfigure)},
		},
	}
}

func withAllocator(fn func(*ucli.Context, context.Context, *ipam.Allocator) error) ucli.ActionFunc {
	return func(c *ucli.Context) error {
		log, err := logger(c)
		if err != nil {
			return err
		}
		cfg, err := storeConfig(c)
		if err != nil {
			return err
		}
		// IPAM reads skip records that do not decode; the warning naming each one is
		// the user's only hint, so it goes to the command's log.
		cfg.Logger = log
		sc, err := store.Connect(context.Background(), cfg)
		if err != nil {
			return err
		}
		defer sc.Close()
		return fn(c, c.Context, ipam.New(sc, ipam.Options{Logger: log}))
	}
}

func pct(n, total *big.Int) string {
	if total.Sign() == 0 {
		return "0%"
	}
	f, _ := new(big.Rat).SetFrac(new(big.Int).Mul(n, big.NewInt(100)), total).Float64()
	return fmt.Sprintf("%.0f%%", f)
}

func usageRow(group, cidr string, total *big.Int, inUse int) []string {
	used := big.NewInt(int64(inUse))
	free := new(big.Int).Sub(total, used)
	return []string{group, cidr, total.String(), fmt.Sprintf("%d (%s)", inUse, pct(used, total)), fmt.Sprintf("%s (%s)", free, pct(free, total))}
}

func ipamShow(c *ucli.Context, ctx context.Context, a *ipam.Allocator) error {
	w := c.App.Writer
	if s := c.String("ip"); s != "" {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("--ip: %q is not an IP address", s)
		}
		info, err := a.LookupIP(ctx, ip)
		if err != nil {
			return err
		}
		writeIPInfo(w, info)
		return nil
	}
	u, err := a.Usage(ctx)
	if err != nil {
		return err
	}
	var rows [][]string
	for _, p := range u.Pools {
		rows = append(rows, usageRow("IP Pool", p.CIDR, p.Total, p.InUse))
		if !c.Bool("show-blocks") {
			continue
		}
		for _, b := range u.Blocks {
			if b.Pool == p.Name {
				rows = append(rows, usageRow("Block", b.CIDR, big.NewInt(int64(b.Total)), b.InUse))
			}
		}
	}
	writeTable(w, []string{"GROUPING", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS FREE"}, rows)
	return nil
}

func writeIPInfo(w io.Writer, info ipam.IPInfo) {
	switch {
	case info.Allocated:
		fmt.Fprintf(w, "IP %s is in use\n", info.IP)
		if info.Handle != "" {
			fmt.Fprintf(w, "Handle ID: %s\n", info.Handle)
		}
		fmt.Fprintf(w, "Block: %s\n", info.Block)
		if len(info.Attrs) > 0 {
			fmt.Fprintln(w, "Attributes:")
			keys := make([]string, 0, len(info.Attrs))
			for k := range info.Attrs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "  %s: %s\n", k, info.Attrs[k])
			}
		}
	case info.Pool == "" && info.Block == "":
		fmt.Fprintf(w, "IP %s is not in any configured pool\n", info.IP)
	default:
		fmt.Fprintf(w, "IP %s is not currently assigned\n", info.IP)
	}
	if info.Reserved {
		fmt.Fprintf(w, "IP %s is reserved by an IPReservation\n", info.IP)
	}
}

func ipamCheck(c *ucli.Context, ctx context.Context, a *ipam.Allocator) error {
	r, err := a.CheckWith(ctx, ipam.CheckOptions{GracePeriod: c.Duration("grace-period")})
	if err != nil {
		return err
	}
	writeCheck(c.App.Writer, r)
	if n := r.Problems(); n > 0 {
		return ucli.Exit(fmt.Sprintf("ipam check found %d problem(s)", n), 1)
	}
	return nil
}

func writeCheck(w io.Writer, r ipam.CheckReport) {
	fmt.Fprintf(w, "Checked %d blocks, %d handles, %d allocated addresses.\n", r.Blocks, r.Handles, r.Allocations)
	age := func(d time.Duration) string {
		if d < 0 {
			return "no timestamp"
		}
		return "allocated " + d.Round(time.Second).String() + " ago"
	}
	section := func(title string, n int) bool {
		if n > 0 {
			fmt.Fprintf(w, "\n%s (%d):\n", title, n)
		}
		return n > 0
	}
	if section("Leaked addresses", len(r.Leaks)) {
		for _, l := range r.Leaks {
			fmt.Fprintf(w, "  %s  handle %s: %s (%s)\n", l.IP, l.Handle, l.Reason, age(l.Age))
		}
	}
	if section("Owner missing but within the grace period (not a problem yet)", len(r.InFlight)) {
		for _, l := range r.InFlight {
			fmt.Fprintf(w, "  %s  handle %s: %s (%s)\n", l.IP, l.Handle, l.Reason, age(l.Age))
		}
	}
	if section("Handles that do not match their blocks", len(r.HandleMismatches)) {
		for _, m := range r.HandleMismatches {
			fmt.Fprintf(w, "  handle %s block %s: handle counts %d, block holds %d\n", m.Handle, m.Block, m.HandleCount, m.BlockCount)
		}
	}
	if section("Blocks affine to nodes that do not exist", len(r.OrphanBlocks)) {
		for _, b := range r.OrphanBlocks {
			fmt.Fprintf(w, "  %s  node %s, %d address(es) in use\n", b.Block, b.Host, b.InUse)
		}
	}
	if section("Stale affinities", len(r.StaleAffinities)) {
		for _, s := range r.StaleAffinities {
			fmt.Fprintf(w, "  host %s block %s (%s): %s\n", s.Host, s.Block, s.State, s.Reason)
		}
	}
	if section("Addresses held more than once", len(r.Duplicates)) {
		for _, d := range r.Duplicates {
			fmt.Fprintf(w, "  %s: %s\n", d.IP, strings.Join(d.Holders, "; "))
		}
	}
	if r.Problems() == 0 {
		fmt.Fprintln(w, "No problems found.")
	}
}

func ipamRelease(c *ucli.Context, ctx context.Context, a *ipam.Allocator) error {
	ip, err := netip.ParseAddr(c.String("ip"))
	if err != nil {
		return fmt.Errorf("--ip: %q is not an IP address", c.String("ip"))
	}
	skipped, err := a.ReleaseIPs(ctx, ipam.ReleaseOptions{Address: ip})
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		return fmt.Errorf("IP address %s is not assigned", ip)
	}
	fmt.Fprintf(c.App.Writer, "Successfully released IP address %s\n", ip)
	return nil
}

func ipamGC(c *ucli.Context, ctx context.Context, a *ipam.Allocator) error {
	rep, err := a.GC(ctx, ipam.GCOptions{DryRun: c.Bool("dry-run"), GracePeriod: c.Duration("grace-period")})
	if err != nil {
		return err
	}
	w := c.App.Writer
	writeCheck(w, rep.Check)
	if rep.DryRun {
		fmt.Fprintln(w, "\nDry run: nothing changed.")
		return nil
	}
	fmt.Fprintf(w, "\nReleased %d leaked address(es), fixed %d handle(s), removed %d affinity(ies).\n", len(rep.Released), len(rep.HandlesFixed), len(rep.AffinitiesRemoved))
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(w, "%d address(es) changed owner before gc reached them and were left alone.\n", len(rep.Skipped))
	}
	return nil
}

func ipamConfigure(c *ucli.Context, ctx context.Context, a *ipam.Allocator) error {
	var ch ipam.ConfigChange
	if c.IsSet("strictaffinity") {
		v, err := parseBoolFlag(c.String("strictaffinity"))
		if err != nil {
			return fmt.Errorf("--strictaffinity: %w", err)
		}
		ch.StrictAffinity = &v
	}
	if c.IsSet("max-blocks-per-host") {
		n := c.Int("max-blocks-per-host")
		if n < 0 {
			return fmt.Errorf("--max-blocks-per-host: must be 0 or more (got %d)", n)
		}
		ch.MaxBlocksPerHost = &n
	}
	if ch.StrictAffinity == nil && ch.MaxBlocksPerHost == nil {
		return fmt.Errorf("nothing to configure: give --strictaffinity and/or --max-blocks-per-host")
	}
	cfg, err := a.Configure(ctx, ch)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Successfully set StrictAffinity to: %t, MaxBlocksPerHost to: %d\n", cfg.StrictAffinity, cfg.MaxBlocksPerHost)
	return nil
}

func parseBoolFlag(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("must be true or false (got %q)", s)
}
