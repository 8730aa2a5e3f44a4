// Package hostns runs a test binary inside a fresh network namespace standing in for a host:
// loopback up, the workloads' gateway 169.254.1.1 and 192.0.2.2 on lo, no default route.
// etcd, the plugin and cnitool then share that namespace, and nothing a test does touches the
// root namespace's links or routes.
package hostns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Env names the host namespace the test binary runs in.
const Env = "BCNI_HOSTNS"

// Main is a TestMain: as root it creates the namespace, re-executes the test binary inside
// it and deletes it afterwards; inside (or not root) it runs the tests.
func Main(m *testing.M) {
	if os.Getenv(Env) != "" || os.Geteuid() != 0 {
		os.Exit(m.Run())
	}
	os.Exit(reexec())
}

func reexec() int {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "bcni-h-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "ip netns add %s: %v %s\n", name, err, out)
		return 1
	}
	defer exec.Command("ip", "netns", "del", name).Run()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", "169.254.1.1/32", "dev", "lo"},
		{"addr", "add", "192.0.2.2/32", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", name}, args...)...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "ip -n %s %v: %v %s\n", name, args, err, out)
			return 1
		}
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", name, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), Env+"="+name)
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
