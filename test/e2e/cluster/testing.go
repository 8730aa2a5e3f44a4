package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// CloseWhenDone tears the cluster down when tb ends and, if tb failed, first logs the last
// tailLines lines of every process log. Cleanups the caller registers afterwards run before
// both (testing runs them last-in, first-out), while the processes are still there.
func (c *Cluster) CloseWhenDone(tb testing.TB, tailLines int) {
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("tearing down: %v", err)
		}
	})
	tb.Cleanup(func() {
		if tb.Failed() {
			c.LogTails(tb, tailLines)
		}
	})
}

// LogTails logs the last n lines of every process log of the cluster.
func (c *Cluster) LogTails(tb testing.TB, n int) {
	files, _ := filepath.Glob(filepath.Join(c.LogDir(), "*.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		tb.Logf("---- %s (last %d lines) ----\n%s", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
}

// MustApplySeedPool applies the seed's IPv4 IPPool with the given ipipMode and vxlanMode.
func (c *Cluster) MustApplySeedPool(tb testing.TB, ipip, vxlan string) {
	tb.Helper()
	doc, err := Seed("default-ipv4-ippool.yaml")
	if err == nil {
		doc, err = SetField(doc, "ipipMode", ipip)
	}
	if err == nil {
		doc, err = SetField(doc, "vxlanMode", vxlan)
	}
	if err == nil {
		err = c.Apply(doc)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// MustStartAgents starts the agents on the named hosts in parallel (each waits for its own
// first sync).
func (c *Cluster) MustStartAgents(tb testing.TB, o AgentOptions, hosts ...string) {
	tb.Helper()
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.StartAgent(h, o)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// MustAddContainer adds a container through the CNI plugin.
func (c *Cluster) MustAddContainer(tb testing.TB, host, name string) *Container {
	tb.Helper()
	ct, err := c.AddContainer(host, name)
	if err != nil {
		tb.Fatal(err)
	}
	return ct
}
