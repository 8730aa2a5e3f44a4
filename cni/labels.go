package cni

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/api"
	"github.com/containernetworking/cni/pkg/types"
)

// Workload labels at creation (docs/cni.md). Two sources, merged:
//   - CNI_ARGS BRINDLE_LABELS=key=value,key=value (podman and nerdctl pass the CNI_ARGS of
//     their environment on to the plugin);
//   - the conflist's `args.cni.labels: [{"key": ..., "value": ...}]`, the CNI convention
//     (containernetworking/cni CONVENTIONS.md), which wins for a key given in both, as the
//     convention says args win over CNI_ARGS.
//
// Both are validated as Calico validates endpoint labels before anything is changed, so a bad
// label fails ADD with no partial state. projectcalico.org/namespace and
// projectcalico.org/orchestrator are Calico's to set (clientv3 overwrites them on every
// write); asking for them is an error rather than silently ignored.

// parseLabelList parses "key=value,key=value". A key without '=' gets the empty value, as a
// label used only with has(key) needs none.
func parseLabelList(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		if k == "" {
			return nil, newError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf("CNI_ARGS: %s: entry %q has no label key", LabelsArg, item),
				"write "+LabelsArg+"=key=value,key=value")
		}
		out[k] = v
	}
	return out, nil
}

// argsBlock is the conflist's `args` object; only the CNI convention's labels are read.
type argsBlock struct {
	CNI struct {
		Labels []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"labels"`
	} `json:"cni"`
}

// confLabels returns `args.cni.labels` of the conf.
func (c *NetConf) confLabels() (map[string]string, error) {
	if len(c.Args) == 0 || string(c.Args) == "null" {
		return nil, nil
	}
	var a argsBlock
	if err := json.Unmarshal(c.Args, &a); err != nil {
		return nil, newError(types.ErrInvalidNetworkConfig, "args.cni.labels: "+err.Error(),
			`write "args": {"cni": {"labels": [{"key": "app", "value": "web"}]}}`)
	}
	if len(a.CNI.Labels) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(a.CNI.Labels))
	for _, l := range a.CNI.Labels {
		out[l.Key] = l.Value
	}
	return out, nil
}

// workloadLabels merges and validates the labels a new endpoint gets from the call.
func (c *call) workloadLabels() (map[string]string, error) {
	fromConf, err := c.conf.confLabels()
	if err != nil {
		return nil, err
	}
	merged := map[string]string{}
	for k, v := range c.workload.Labels {
		merged[k] = v
	}
	for k, v := range fromConf {
		merged[k] = v
	}
	if len(merged) == 0 {
		return nil, nil
	}
	var e api.Errs
	api.CheckLabels(&e, "labels", merged)
	for _, k := range []string{labelNamespace, labelOrchestrator} {
		if _, ok := merged[k]; ok {
			e.Add("labels["+k+"]", nil, "is set by brindle from the endpoint's namespace and orchestrator")
		}
	}
	if len(e) > 0 {
		msgs := make([]string, len(e))
		for i, fe := range e {
			msgs[i] = fe.Error()
		}
		return nil, newError(types.ErrInvalidEnvironmentVariables, "workload labels ("+LabelsArg+" in CNI_ARGS, args.cni.labels in the conf): "+strings.Join(msgs, "; "),
			"label keys are [prefix/]name and values at most 63 of letters, digits, '-', '_' and '.'")
	}
	return merged, nil
}
