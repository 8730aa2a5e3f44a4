// The demo (`make demo`): a three-host brindle cluster in network namespaces on this machine,
// with the embedded datastore, the seed's IP pool, a container on every host, and the
// routes, tunnel devices and BGP status a Calico user knows from the seed, then a ping
// across hosts, stopped by a deny-all GlobalNetworkPolicy and restored by an allow policy. Everything is torn down at the end unless --keep is given.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/brindle-net/brindle/test/e2e/cluster"
	"github.com/brindle-net/brindle/test/testbed"
)

type options struct {
	bin      string
	keep     bool
	dir      string
	teardown string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "brindle", "bin/brindle", "the brindle binary (make build puts it in bin/)")
	flag.BoolVar(&o.keep, "keep", false, "leave the cluster running and print how to use and remove it")
	flag.StringVar(&o.dir, "dir", "", "working directory for state, logs and etcd data (default: a new one under /tmp)")
	flag.StringVar(&o.teardown, "teardown", "", "remove a cluster an earlier --keep run left in this directory, then exit")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the demo creates network namespaces: run it as root")
	}
	if o.teardown != "" {
		if err := cluster.Teardown(o.teardown); err != nil {
			return err
		}
		fmt.Println("removed the demo cluster in", o.teardown)
		return nil
	}
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("--brindle %s: %w (run make build first)", o.bin, err)
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "brindle-demo-")
		if err != nil {
			return err
		}
		o.dir = d
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	c, err := cluster.Start(cluster.Options{Bed: topology(), Binary: o.bin, WorkDir: dir, Detach: o.keep})
	if err != nil {
		return err
	}
	if !o.keep {
		// Ctrl-C: the processes die with us (parent-death signal), but the namespaces would
		// stay; remove everything before exiting.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			fmt.Fprintln(os.Stderr, "\ninterrupted: tearing down")
			_ = c.Close()
			os.Exit(130)
		}()
	}
	demoErr := demo(c)
	if o.keep {
		if _, err := c.Keep(); err != nil {
			return fmt.Errorf("recording the kept cluster: %w (demo: %v)", err, demoErr)
		}
		printKeep(c)
		return demoErr
	}
	heading("tearing down")
	if err := c.Close(); err != nil {
		return fmt.Errorf("teardown: %w (demo: %v)", err, demoErr)
	}
	if demoErr == nil {
		_ = os.RemoveAll(dir)
		fmt.Println("all processes stopped, all namespaces removed")
	} else {
		fmt.Println("logs kept in", filepath.Join(dir, "logs"))
	}
	return demoErr
}

// topology follows the seed's addresses: master01 and node01 share 100.100.137.0/24, and
// node02 sits on a second subnet behind a router, so CrossSubnet has something to cross.
func topology() testbed.Options {
	a, b := netip.MustParsePrefix("100.100.137.0/24"), netip.MustParsePrefix("100.100.138.0/24")
	return testbed.Options{Prefix: "bdemo-", Subnets: []netip.Prefix{a, b}, Hosts: []testbed.HostOptions{
		{Name: "master01", Addr: netip.MustParseAddr("100.100.137.200")},
		{Name: "node01", Addr: netip.MustParseAddr("100.100.137.201")},
		{Name: "node02", Subnet: 1, Addr: netip.MustParseAddr("100.100.138.202")},
	}}
}
