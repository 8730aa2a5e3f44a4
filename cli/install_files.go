package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/brindle-net/brindle/deploy"
	"github.com/brindle-net/brindle/store"
	"sigs.k8s.io/yaml"
)

// installItem is one file or symlink `brindle install` writes; path is as the host sees it.
type installItem struct {
	path   string
	kind   string // "file" or "symlink"
	data   []byte
	mode   os.FileMode
	target string
}

// installOptions are install's settings after flags are read.
type installOptions struct {
	root, binDir, cniBinDir, cniNetDir string
	binary                             string // source binary; "" when it already is at binDir
	datastore                          bool   // also enable brindle-datastore.service
	dockerPlugin                       bool   // also enable brindle-docker-plugin.service
	etcd                               store.Config
}

// installPlan lists everything install writes, in order.
func installPlan(o installOptions) ([]installItem, error) {
	var items []installItem
	bin := filepath.Join(o.binDir, "brindle")
	if o.binary != "" {
		data, err := os.ReadFile(o.binary)
		if err != nil {
			return nil, fmt.Errorf("reading the binary to install: %w", err)
		}
		items = append(items, installItem{path: bin, kind: "file", data: data, mode: 0o755})
	}
	cniDirs := []string{o.cniBinDir}
	if fi, err := os.Stat(filepath.Join(o.root, "/usr/lib/cni")); err == nil && fi.IsDir() && o.cniBinDir != "/usr/lib/cni" {
		cniDirs = append(cniDirs, "/usr/lib/cni") // Debian's containernetworking-plugins
	}
	for _, dir := range cniDirs {
		for _, name := range []string{"calico", "calico-ipam"} {
			// Relative, so that the link resolves inside --root as on the host.
			rel, err := filepath.Rel(dir, bin)
			if err != nil {
				return nil, err
			}
			items = append(items, installItem{path: filepath.Join(dir, name), kind: "symlink", target: rel})
		}
	}
	conflist, err := conflistFor(o.etcd)
	if err != nil {
		return nil, err
	}
	items = append(items,
		installItem{path: filepath.Join(o.cniNetDir, "10-calico.conflist"), kind: "file", data: conflist, mode: 0o644},
		installItem{path: DefaultConfigFile, kind: "file", data: calicoctlConfigFor(o.etcd), mode: 0o644},
		installItem{path: "/etc/brindle/brindle.env", kind: "file", data: envFileFor(o.etcd), mode: 0o600})
	for _, name := range deploy.Units() {
		data, err := deploy.Unit(name, o.binDir)
		if err != nil {
			return nil, err
		}
		unit := "/etc/systemd/system/" + name
		items = append(items, installItem{path: unit, kind: "file", data: data, mode: 0o644})
		if name == "brindle-node.service" || (name == "brindle-datastore.service" && o.datastore) ||
			(name == "brindle-docker-plugin.service" && o.dockerPlugin) {
			// What `systemctl enable` does for WantedBy=multi-user.target.
			items = append(items, installItem{path: "/etc/systemd/system/multi-user.target.wants/" + name, kind: "symlink", target: unit})
		}
	}
	return items, nil
}

// conflistFor is the seed's 10-calico.conflist (calico, portmap, bandwidth) for etcd mode:
// the Kubernetes settings replaced by the datastore's.
func conflistFor(etcd store.Config) ([]byte, error) {
	calico := map[string]any{
		"type": "calico", "log_level": "info", "log_file_path": "/var/log/calico/cni/cni.log",
		"datastore_type": "etcdv3", "etcd_endpoints": strings.Join(etcd.Endpoints, ","),
		"mtu": 0, "ipam": map[string]string{"type": "calico-ipam"},
	}
	for k, v := range map[string]string{"etcd_ca_cert_file": etcd.CACertFile, "etcd_cert_file": etcd.CertFile, "etcd_key_file": etcd.KeyFile} {
		if v != "" {
			calico[k] = v
		}
	}
	doc := map[string]any{
		"name": "k8s-pod-network", "cniVersion": "0.3.1",
		"plugins": []any{
			calico,
			map[string]any{"type": "portmap", "snat": true, "capabilities": map[string]bool{"portMappings": true}},
			map[string]any{"type": "bandwidth", "capabilities": map[string]bool{"bandwidth": true}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	return append(b, '\n'), err
}

func calicoctlConfigFor(etcd store.Config) []byte {
	cfg := calicoAPIConfig{APIVersion: "projectcalico.org/v3", Kind: "CalicoAPIConfig",
		Spec: calicoAPIConfigSp{DatastoreType: "etcdv3", EtcdEndpoints: strings.Join(etcd.Endpoints, ","),
			EtcdCACertFile: etcd.CACertFile, EtcdCertFile: etcd.CertFile, EtcdKeyFile: etcd.KeyFile}}
	b, _ := yaml.Marshal(cfg)
	return b
}

// envFileFor is the units' EnvironmentFile: Calico's variable names, read by every role.
func envFileFor(etcd store.Config) []byte {
	var b strings.Builder
	b.WriteString("# Settings for brindle's systemd units (written by `brindle install`).\n")
	fmt.Fprintf(&b, "ETCD_ENDPOINTS=%s\n", strings.Join(etcd.Endpoints, ","))
	for _, kv := range [][2]string{{"ETCD_CA_CERT_FILE", etcd.CACertFile}, {"ETCD_CERT_FILE", etcd.CertFile}, {"ETCD_KEY_FILE", etcd.KeyFile}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		} else {
			fmt.Fprintf(&b, "#%s=\n", kv[0])
		}
	}
	b.WriteString("#ETCD_USERNAME=\n#ETCD_PASSWORD=\n")
	b.WriteString("# brindle node run: NODENAME (default: the hostname), IP (default: autodetect),\n")
	b.WriteString("# IP_AUTODETECTION_METHOD (default: first-found), AS, BRINDLE_LOG_LEVEL, BRINDLE_LOG_FORMAT.\n")
	b.WriteString("#IP_AUTODETECTION_METHOD=first-found\n")
	b.WriteString("# brindle datastore run (brindle-datastore.service): extra flags.\n")
	b.WriteString("BRINDLE_DATASTORE_ARGS=\n")
	return []byte(b.String())
}
