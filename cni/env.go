package cni

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
)

// DefaultStateDir is where the node agent writes this host's node name and workload MTU,
// the same place calico/node uses.
const DefaultStateDir = "/var/lib/calico"

// StateDirEnv overrides the state directory (tests, several agents on one host).
const StateDirEnv = "BRINDLE_STATE_DIR"

// stateDir resolves the state directory: conf field, then environment, then the default.
func (c *NetConf) stateDir() string {
	if c.StateDir != "" {
		return c.StateDir
	}
	if d := os.Getenv(StateDirEnv); d != "" {
		return d
	}
	return DefaultStateDir
}

// workloadArgs is what CNI_ARGS says about the workload.
type workloadArgs struct {
	PodNamespace string // K8S_POD_NAMESPACE
	PodName      string // K8S_POD_NAME
	IP           string // IP= requests a specific address from the own IPAM
	// Labels from BRINDLE_LABELS=key=value,key=value (docs/cni.md).
	Labels map[string]string
}

// LabelsArg is the CNI_ARGS key that labels a workload at creation. The value is
// "key=value,key=value": neither ',' nor ';' can occur in a valid label key or value, and
// runtimes split CNI_ARGS at the first '=' of each entry only.
const LabelsArg = "BRINDLE_LABELS"

// isK8sName reports whether s is a lower-case DNS subdomain name: 1-253 characters of a-z,
// 0-9, '-' and '.', starting and ending with a letter or digit. Written out rather than as a
// regexp because that regexp's {0,251} compiles into a large program at every process start,
// 0.2 ms of CPU per CNI call.
func isK8sName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(s)-1 || c != '-' && c != '.') {
			return false
		}
	}
	return true
}

// isNamespaceName: a namespace is a DNS label (no dots, at most 63 characters).
func isNamespaceName(s string) bool {
	return len(s) <= 63 && !strings.Contains(s, ".") && isK8sName(s)
}

// parseArgs reads CNI_ARGS ("K=V;K=V"). Unknown keys are ignored, as runtimes add their own.
// Only the syntax is checked here; which keys must be valid names depends on the mode
// (see checkWorkload).
func parseArgs(s string) (workloadArgs, error) {
	var w workloadArgs
	if s == "" {
		return w, nil
	}
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return w, newError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf("CNI_ARGS: entry %q is not KEY=VALUE", kv), "")
		}
		switch k {
		case "K8S_POD_NAMESPACE":
			w.PodNamespace = v
		case "K8S_POD_NAME":
			w.PodName = v
		case "IP":
			w.IP = v
		case LabelsArg:
			labels, err := parseLabelList(v)
			if err != nil {
				return w, err
			}
			w.Labels = labels
		}
	}
	// Checked here, before ADD starts on the veth, rather than only where IPAM uses it.
	if w.IP != "" {
		if _, err := netip.ParseAddr(w.IP); err != nil {
			return w, newError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf("CNI_ARGS: IP %q is not an IP address", w.IP), "")
		}
	}
	return w, nil
}

// checkWorkload validates the arguments that become parts of etcd keys. In Kubernetes mode
// both pod namespace and pod name do; otherwise only the namespace, and K8S_POD_NAME is
// ignored (podman passes its container names there, which may hold '_').
func (w workloadArgs) checkWorkload(k8s bool) error {
	bad := func(key, v, what string) error {
		return newError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf("CNI_ARGS: %s %q must be %s", key, v, what), "")
	}
	if w.PodNamespace != "" && !isNamespaceName(w.PodNamespace) {
		return bad("K8S_POD_NAMESPACE", w.PodNamespace, "a namespace name: at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit")
	}
	if k8s && !isK8sName(w.PodName) {
		return bad("K8S_POD_NAME", w.PodName, "a lower-case DNS name (a-z, 0-9, '-', '.')")
	}
	return nil
}

// nodename follows Calico's order: conf nodename, then the node agent's nodename file, then the
// deprecated hostname field, then the OS host name. Unlike Calico, an explicit conf nodename
// does not also require the file to exist (calico-cni-observed.md shows that trap).
func (c *NetConf) nodename() (string, error) {
	if n := strings.TrimSpace(c.Nodename); n != "" {
		return strings.ToLower(n), nil
	}
	file := c.NodenameFile
	if file == "" {
		file = filepath.Join(c.stateDir(), "nodename")
	}
	data, err := os.ReadFile(file)
	switch {
	case err == nil && strings.TrimSpace(string(data)) != "":
		return strings.ToLower(strings.TrimSpace(string(data))), nil
	case err != nil && !os.IsNotExist(err):
		return "", newError(ErrNodename, fmt.Sprintf("reading node name file %s: %v", file, err), "")
	case !c.NodenameFileOptional:
		return "", newError(ErrNodename, fmt.Sprintf("node name file %s is missing or empty", file),
			"start the node agent (brindle node run), which writes it, or set \"nodename\" or \"nodename_file_optional\": true in the CNI config")
	}
	if n := strings.TrimSpace(c.Hostname); n != "" {
		return strings.ToLower(n), nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", newError(ErrNodename, "cannot determine the host name: "+err.Error(), "set \"nodename\" in the CNI config")
	}
	return strings.ToLower(h), nil
}

// mtuFromFile reads the workload MTU the node agent wrote; 0 when absent.
func (c *NetConf) mtuFromFile() (int, error) {
	file := filepath.Join(c.stateDir(), "mtu")
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading MTU file %s: %w", file, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 68 || n > 65535 {
		return 0, fmt.Errorf("MTU file %s holds %q: want a number between 68 and 65535", file, strings.TrimSpace(string(data)))
	}
	return n, nil
}
