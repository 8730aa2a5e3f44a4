package cnitest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// hostNSEnv names the namespace the test binary runs in. The tests need etcd, the plugin and
// cnitool in one "host" namespace that is not the machine's root namespace: TestMain creates
// it and re-executes the test binary inside it, so etcd listens on that namespace's loopback
// and nothing the tests do touches the root namespace's links or routes.
const hostNSEnv = "BCNI_HOSTNS"

func TestMain(m *testing.M) {
	if os.Getenv(hostNSEnv) != "" || os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	os.Exit(reexecInHostNS())
}

func reexecInHostNS() int {
	name := "bcni-h-" + randHex(6)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ip netns add %s: %v %s\n", name, err, out)
		return 1
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		// The workloads' gateway lives on lo, so the host veths' proxy ARP answers for it,
		// and 192.0.2.2 stands for the host's own address.
		{"addr", "add", "169.254.1.1/32", "dev", "lo"},
		{"addr", "add", "192.0.2.2/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", name}, args...)...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "ip -n %s %v: %v %s\n", name, args, err, out)
			return 1
		}
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", name, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), hostNSEnv+"="+name)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
