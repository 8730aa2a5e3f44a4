package cni

import (
	"fmt"
	"slices"
	"strings"

	"github.com/brindle-net/brindle/ipam"
	"github.com/containernetworking/cni/pkg/skel"
)

// cmdCheck really checks (Calico's CHECK only prints "OK"): the container interface, its
// addresses and routes, the host veth and its routes, the endpoint record and the IPAM handle
// against the prevResult. All problems are reported together.
func cmdCheck(args *skel.CmdArgs) error {
	c, err := parseCall(args)
	if err != nil {
		return err
	}
	if err := c.resolve("CHECK"); err != nil {
		return err
	}
	prev, err := prevResult(c.conf)
	if err != nil {
		return err
	}
	ips := hostPrefixes(ipsOf(prev))
	problems := checkWiring(args.Netns, args.IfName, c.veth, ips)
	if len(prev.Interfaces) == 0 || prev.Interfaces[0].Name != c.veth {
		problems = append(problems, fmt.Sprintf("prevResult does not name host veth %s", c.veth))
	}

	ctx, cancel := newContext()
	defer cancel()
	sc, err := connect(ctx, c.conf, c.log)
	if err != nil {
		return err
	}
	defer sc.Close()

	w, err := getWEP(ctx, sc, c.id)
	switch {
	case err != nil:
		problems = append(problems, fmt.Sprintf("reading WorkloadEndpoint %s/%s: %v", c.id.Namespace, c.id.Name, err))
	case w == nil:
		problems = append(problems, fmt.Sprintf("WorkloadEndpoint %s/%s is missing", c.id.Namespace, c.id.Name))
	default:
		if w.Spec.ContainerID != args.ContainerID {
			problems = append(problems, fmt.Sprintf("WorkloadEndpoint %s belongs to container %s", c.id.Name, w.Spec.ContainerID))
		}
		if w.Spec.InterfaceName != c.veth {
			problems = append(problems, fmt.Sprintf("WorkloadEndpoint %s names interface %s, want %s", c.id.Name, w.Spec.InterfaceName, c.veth))
		}
		want := prefixStrings(ips)
		got := slices.Clone(w.Spec.IPNetworks)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			problems = append(problems, fmt.Sprintf("WorkloadEndpoint %s has ipNetworks %v, prevResult has %v", c.id.Name, got, want))
		}
	}
	if c.conf.ownIPAM() {
		held, err := ipam.New(sc, ipam.Options{Logger: c.log}).IPsByHandle(ctx, handleID(c.conf.Name, args.ContainerID))
		if err != nil {
			problems = append(problems, fmt.Sprintf("reading IPAM handle: %v", err))
		}
		for _, p := range ips {
			if !slices.Contains(held, p.Addr()) {
				problems = append(problems, fmt.Sprintf("address %s is not allocated to handle %s", p.Addr(), handleID(c.conf.Name, args.ContainerID)))
			}
		}
	}
	if len(problems) > 0 {
		return newError(ErrCheck, "CHECK failed: "+strings.Join(problems, "; "),
			"DEL and ADD the container again to rebuild its network")
	}
	return nil
}
