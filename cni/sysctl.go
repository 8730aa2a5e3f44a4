package cni

import (
	"fmt"
	"os"
	"path/filepath"
)

// sysctl is one /proc/sys/net setting. /proc/sys/net shows the network namespace of the
// thread that opens it, so writes for the container run inside ns.Do.
type sysctl struct {
	path  string // relative to /proc/sys/net, e.g. "ipv4/conf/cali123/proxy_arp"
	value string
}

func writeSysctls(list []sysctl) error {
	for _, s := range list {
		p := filepath.Join("/proc/sys/net", s.path)
		if err := os.WriteFile(p, []byte(s.value), 0o644); err != nil {
			return fmt.Errorf("setting net.%s=%s: %w", dotted(s.path), s.value, err)
		}
	}
	return nil
}

func readSysctl(path string) (string, error) {
	b, err := os.ReadFile(filepath.Join("/proc/sys/net", path))
	if err != nil {
		return "", err
	}
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return string(b), nil
}

func dotted(p string) string {
	out := []byte(p)
	for i, c := range out {
		if c == '/' {
			out[i] = '.'
		}
	}
	return string(out)
}

// hostVethSysctls are the settings calico-cni-observed.md found on the host veth: proxy ARP
// answers the container's ARP for 169.254.1.1 at once (proxy_delay 0), forwarding routes its
// traffic, route_localnet lets it reach 127/8 DNAT targets, and router advertisements are ignored.
func hostVethSysctls(veth string, v6 bool) []sysctl {
	list := []sysctl{
		{"ipv4/conf/" + veth + "/route_localnet", "1"},
		{"ipv4/neigh/" + veth + "/proxy_delay", "0"},
		{"ipv4/conf/" + veth + "/proxy_arp", "1"},
		{"ipv4/conf/" + veth + "/forwarding", "1"},
	}
	if v6 {
		list = append(list,
			sysctl{"ipv6/conf/" + veth + "/accept_dad", "0"},
			sysctl{"ipv6/conf/" + veth + "/disable_ipv6", "0"},
			sysctl{"ipv6/conf/" + veth + "/proxy_ndp", "1"},
			sysctl{"ipv6/conf/" + veth + "/forwarding", "1"},
		)
	}
	// accept_ra exists only when the kernel has IPv6 enabled.
	if _, err := os.Stat("/proc/sys/net/ipv6/conf/" + veth + "/accept_ra"); err == nil {
		list = append(list, sysctl{"ipv6/conf/" + veth + "/accept_ra", "0"})
	}
	return list
}

// containerSysctls mirror Calico: forwarding in the container follows allow_ip_forwarding;
// with IPv6, IPv6 is enabled and DAD is skipped on the container interface so the address is
// usable immediately.
func containerSysctls(ifName string, v6, allowForwarding bool) []sysctl {
	fwd := "0"
	if allowForwarding {
		fwd = "1"
	}
	list := []sysctl{{"ipv4/ip_forward", fwd}}
	if v6 {
		list = append(list,
			sysctl{"ipv6/conf/all/disable_ipv6", "0"},
			sysctl{"ipv6/conf/default/disable_ipv6", "0"},
			sysctl{"ipv6/conf/lo/disable_ipv6", "0"},
			sysctl{"ipv6/conf/" + ifName + "/accept_dad", "0"},
			sysctl{"ipv6/conf/all/forwarding", fwd},
		)
	}
	return list
}
