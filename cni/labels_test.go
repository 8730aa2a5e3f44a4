package cni

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestWorkloadLabels(t *testing.T) {
	mk := func(cniArgs, confArgs string) *call {
		t.Helper()
		w, err := parseArgs(cniArgs)
		if err != nil {
			t.Fatalf("parseArgs(%q): %v", cniArgs, err)
		}
		c := &call{conf: &NetConf{}, workload: w}
		if confArgs != "" {
			c.conf.Args = json.RawMessage(confArgs)
		}
		return c
	}
	got, err := mk("IgnoreUnknown=1;BRINDLE_LABELS=app=web,tier=front,canary;K8S_POD_NAME=x", "").workloadLabels()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"app": "web", "tier": "front", "canary": ""}; !equalMaps(got, want) {
		t.Errorf("CNI_ARGS labels: got %v, want %v", got, want)
	}
	// args.cni.labels (the CNI convention) wins over CNI_ARGS for the same key.
	got, err = mk("BRINDLE_LABELS=app=web,x.io/team=a", `{"cni":{"labels":[{"key":"app","value":"db"}]},"org.apache.mesos":{}}`).workloadLabels()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"app": "db", "x.io/team": "a"}; !equalMaps(got, want) {
		t.Errorf("merged labels: got %v, want %v", got, want)
	}
	if got, err := mk("", "").workloadLabels(); err != nil || got != nil {
		t.Errorf("no labels: got %v, %v", got, err)
	}

	for _, tc := range []struct{ args, conf, want string }{
		{"BRINDLE_LABELS=app=we b", "", "labels[app]"},
		{"BRINDLE_LABELS=-app=web", "", "labels[-app]"},
		{"BRINDLE_LABELS=app=" + strings.Repeat("v", 64), "", "at most 63"},
		{"BRINDLE_LABELS=projectcalico.org/namespace=other", "", "set by brindle"},
		{"", `{"cni":{"labels":[{"key":"Bad Key","value":"x"}]}}`, "labels[Bad Key]"},
		{"", `{"cni":{"labels":"app=web"}}`, "args.cni.labels"},
	} {
		w, err := parseArgs(tc.args)
		if err == nil {
			c := &call{conf: &NetConf{Args: json.RawMessage(tc.conf)}, workload: w}
			if tc.conf == "" {
				c.conf.Args = nil
			}
			_, err = c.workloadLabels()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("args %q conf %s: want an error with %q, got %v", tc.args, tc.conf, tc.want, err)
		}
	}
	if _, err := parseArgs("BRINDLE_LABELS==web"); err == nil || !strings.Contains(err.Error(), "no label key") {
		t.Errorf("empty key: %v", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}
