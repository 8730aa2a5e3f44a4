package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// PortMapping is one entry of the portMappings capability a runtime passes to portmap.
type PortMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// portmapDir holds Debian's containernetworking-plugins (scripts/setup.sh installs them).
const portmapDir = "/usr/lib/cni"

// cnitoolPath finds cnitool (scripts/setup.sh: go install .../cnitool@v1.3.1).
func cnitoolPath() (string, error) {
	if p, err := exec.LookPath("cnitool"); err == nil {
		return p, nil
	}
	if p := "/root/go/bin/cnitool"; fileExists(p) {
		return p, nil
	}
	return "", fmt.Errorf("cnitool not found in PATH or /root/go/bin (scripts/setup.sh installs it)")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// cniChain runs the seed's chain (calico, then portmap with the portMappings capability) as a
// runtime does: through libcni (cnitool), which fills portmap's runtimeConfig from CAP_ARGS,
// passes calico's result on as prevResult, and on DEL runs portmap before calico. cnitool
// derives CNI_CONTAINERID from the netns path ("cnitool-<hash>"), not from the container name.
func (c *Cluster) cniChain(host *testbed.Host, command, netnsPath string, o ContainerOptions) (string, error) {
	tool, err := cnitoolPath()
	if err != nil {
		return "", err
	}
	if !fileExists(filepath.Join(portmapDir, "portmap")) {
		return "", fmt.Errorf("%s/portmap missing (apt-get install containernetworking-plugins)", portmapDir)
	}
	var calico map[string]any
	if err := json.Unmarshal(c.cniConf(host.HostName, o.network()), &calico); err != nil {
		return "", err
	}
	delete(calico, "cniVersion")
	delete(calico, "name")
	list := map[string]any{"cniVersion": "1.0.0", "name": o.network(), "plugins": []any{calico,
		map[string]any{"type": "portmap", "snat": true, "capabilities": map[string]bool{"portMappings": true}}}}
	dir := filepath.Join(c.Dir, "net.d-"+host.HostName)
	b, _ := json.MarshalIndent(list, "", "  ")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, o.network()+".conflist"), b, 0o644); err != nil {
		return "", err
	}
	capArgs, _ := json.Marshal(map[string]any{"portMappings": o.PortMappings})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, strings.ToLower(command), o.network(), netnsPath)
	cmd.Env = append(cmd.Environ(), "NETCONFPATH="+dir, "CNI_PATH="+c.CNIDir+":"+portmapDir, "CNI_IFNAME=eth0",
		"CAP_ARGS="+string(capArgs), "BRINDLE_STATE_DIR="+c.StateDir(host.HostName), "CNI_ARGS="+o.cniArgs())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := host.StartCmd(cmd); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return stdout.String(), fmt.Errorf("cnitool %s: %w: %s %s", command, err, strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
