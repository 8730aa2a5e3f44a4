package policy

import (
	"strings"

	"github.com/brindle-net/brindle/api"
)

// DefaultLogPrefix is felix's logPrefix default.
const DefaultLogPrefix = "calico-packet"

// ConfigFrom derives the Config from FelixConfiguration "default" and "node.<name>" (either may
// be nil); a field set on the node's wins, as felix merges them.
func ConfigFrom(global, node *api.FelixConfiguration) Config {
	c := Config{EndpointToHost: "Drop", LogPrefix: DefaultLogPrefix, DropInvalid: true, VXLANPort: 4789}
	for _, fc := range []*api.FelixConfiguration{global, node} {
		if fc == nil {
			continue
		}
		s := &fc.Spec
		switch strings.ToLower(s.DefaultEndpointToHostAction) {
		case "drop":
			c.EndpointToHost = "Drop"
		case "accept":
			c.EndpointToHost = "Accept"
		case "return":
			c.EndpointToHost = "Return"
		}
		if s.LogPrefix != "" {
			c.LogPrefix = s.LogPrefix
		}
		if s.DisableConntrackInvalidCheck != nil {
			c.DropInvalid = !*s.DisableConntrackInvalidCheck
		}
		if s.AllowIPIPPacketsFromWorkloads != nil {
			c.AllowIPIPFromWorkloads = *s.AllowIPIPPacketsFromWorkloads
		}
		if s.AllowVXLANPacketsFromWorkloads != nil {
			c.AllowVXLANFromWorkloads = *s.AllowVXLANPacketsFromWorkloads
		}
		if s.VXLANPort != nil && *s.VXLANPort > 0 && *s.VXLANPort < 65536 {
			c.VXLANPort = uint16(*s.VXLANPort)
		}
	}
	return c
}

// expandLogPrefix fills felix's placeholders (felix/rules/policy.go generateLogPrefix): %k the
// kind (gnp, np, knp, pro), %n the name without its tier prefix, %p namespace/name, %t the tier.
func expandLogPrefix(prefix string, o owner) string {
	if prefix == "" {
		prefix = DefaultLogPrefix
	}
	if !strings.Contains(prefix, "%") {
		return prefix
	}
	kind := o.kind
	if strings.HasPrefix(o.name, "knp.") {
		kind = "knp"
	}
	name := o.name
	if o.tier != "" {
		name = strings.TrimPrefix(name, o.tier+".")
	}
	p := name
	if o.namespace != "" {
		p = o.namespace + "/" + name
	}
	return strings.NewReplacer("%k", kind, "%n", name, "%p", p, "%t", o.tier).Replace(prefix)
}
