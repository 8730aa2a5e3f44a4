package cni

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
)

// FuzzParseCall feeds arbitrary configs and CNI_ARGS through everything a verb does before
// touching the datastore or the kernel: it must never panic, and every rejection must be a
// CNI error that serialises to JSON with a code and a message.
func FuzzParseCall(f *testing.F) {
	f.Add([]byte(`{"cniVersion":"1.0.0","name":"n","type":"calico","datastore_type":"etcdv3","ipam":{"type":"calico-ipam"}}`), "K8S_POD_NAMESPACE=a;K8S_POD_NAME=b")
	f.Add([]byte(`{"name":"n","type":"calico","mtu":-1,"ipam":{"type":"host-local","subnet":"usePodCidr","ranges":[[{"subnet":"usePodCidr"}]]}}`), "IgnoreUnknown=1;IP=10.0.0.1")
	f.Add([]byte(`{"name":"n","ipam":{"type":"calico-ipam","assign_ipv4":"false","assign_ipv6":false}}`), "bad")
	f.Add([]byte(`{"name":"n","ipam":{"type":"calico-ipam","assign_ipv4":7}}`), ";;=;")
	f.Add([]byte(`{"name":"n","policy":{"type":"k8s"},"kubernetes":{"kubeconfig":"/x"},"prevResult":{"ips":[]}}`), "K8S_POD_NAME=X")
	f.Add([]byte(`[]`), "")
	f.Fuzz(func(t *testing.T, conf []byte, cniArgs string) {
		c, err := parseCall(&skel.CmdArgs{ContainerID: "ctr", IfName: "eth0", Args: cniArgs, StdinData: conf})
		if err != nil {
			ce := asCNIError(err)
			if ce.Code == 0 || ce.Msg == "" {
				t.Fatalf("error without code or message: %#v", ce)
			}
			var te *types.Error
			if !errors.As(err, &te) {
				t.Fatalf("rejection is not a CNI error: %T %v", err, err)
			}
			if _, jerr := json.Marshal(ce); jerr != nil {
				t.Fatalf("error does not serialise: %v", jerr)
			}
			return
		}
		if c.conf.Name == "" || c.conf.IPAM.Type == "" || len(c.veth) > 15 {
			t.Fatalf("accepted an invalid call: %+v veth %q", c.conf, c.veth)
		}
		if _, err := prevResult(c.conf); err != nil && asCNIError(err).Code == 0 {
			t.Fatalf("prevResult error without code: %v", err)
		}
	})
}
