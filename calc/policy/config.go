package policy

import (
	"strconv"
	"strings"

	"github.com/brindle-net/brindle/api"
)

// DefaultLogPrefix is felix's logPrefix default.
const DefaultLogPrefix = "calico-packet"

// ConfigFrom derives the Config from FelixConfiguration "default" and "node.<name>" (either may
// be nil); a field set on the node's wins, as felix merges them.
func ConfigFrom(global, node *api.FelixConfiguration) Config {
	c := Config{EndpointToHost: "Drop", LogPrefix: DefaultLogPrefix, DropInvalid: true, VXLANPort: 4789}
	def := api.FelixDefaults()
	c.FailsafeIn, c.FailsafeOut = failsafes(*def.FailsafeInboundHostPorts), failsafes(*def.FailsafeOutboundHostPorts)
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
		if s.FailsafeInboundHostPorts != nil {
			c.FailsafeIn = failsafes(*s.FailsafeInboundHostPorts)
		}
		if s.FailsafeOutboundHostPorts != nil {
			c.FailsafeOut = failsafes(*s.FailsafeOutboundHostPorts)
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

// failsafes converts FelixConfiguration's port list to Config's canonical text; an entry with an
// unknown protocol or a bad net is left out (validation rejects those on write; felix skips them).
func failsafes(pp []api.ProtoPort) string {
	var b strings.Builder
	for _, p := range pp {
		proto, ok := protoNames[strings.ToLower(p.Protocol)]
		if !ok || (proto != 6 && proto != 17 && proto != 132) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.ToLower(p.Protocol))
		if p.Net != "" {
			n, err := parseNet(p.Net)
			if err != nil {
				continue
			}
			b.WriteString(":" + n.String())
		}
		b.WriteString(":" + strconv.Itoa(int(p.Port)))
	}
	return b.String()
}

// Failsafes parses FailsafeIn and FailsafeOut.
func (c Config) Failsafes() (in, out []Failsafe) {
	return parseFailsafes(c.FailsafeIn), parseFailsafes(c.FailsafeOut)
}

func parseFailsafes(s string) []Failsafe {
	var out []Failsafe
	for _, e := range strings.Split(s, ",") {
		parts := strings.Split(e, ":")
		if len(parts) < 2 {
			continue
		}
		proto, ok := protoNames[parts[0]]
		port, err := strconv.ParseUint(parts[len(parts)-1], 10, 16)
		if !ok || err != nil {
			continue
		}
		f := Failsafe{Proto: proto, Port: uint16(port)}
		if len(parts) > 2 {
			// an IPv6 net contains colons: everything between the protocol and the port
			n, err := parseNet(strings.Join(parts[1:len(parts)-1], ":"))
			if err != nil {
				continue
			}
			f.Net = n
		}
		out = append(out, f)
	}
	return out
}
