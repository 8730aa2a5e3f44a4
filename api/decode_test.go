package api

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, input string
		want        []string // substrings of the error
	}{
		{"unknown spec field", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p0}\nspec: {cidr: 10.0.0.0/16}\n---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p1\nspec:\n  cidr: 10.1.0.0/16\n  blockSizee: 26\n",
			[]string{`document 2 (IPPool "p1"): unknown field "spec.blockSizee"`}},
		{"case mismatch", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {CIDR: 10.0.0.0/16}",
			[]string{`unknown field "spec.CIDR"`, `did you mean "cidr"`}},
		{"nested unknown", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  ingress:\n  - action: Allow\n    source: {net: [10.0.0.0/8]}\n",
			[]string{`unknown field "spec.ingress[0].source.net"`}},
		{"unknown metadata", "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1, lables: {a: b}}\nspec: {}",
			[]string{`unknown field "metadata.lables"`}},
		{"several problems", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {xx: 1, yy: 2}",
			[]string{`"spec.xx"`, `"spec.yy"`}},
		{"yaml 1.1 bool name", "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n}\nspec: {}",
			[]string{`metadata.name: must be a string, got false`}},
		{"wrong type", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.0.0.0/16, blockSize: twenty}",
			[]string{`spec.blockSize: must be an integer, got "twenty"`}},
		{"bool type", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.0.0.0/16, natOutgoing: yes please}",
			[]string{`spec.natOutgoing: must be true or false`}},
		{"port overflow", "apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: {name: default}\nspec: {listenPort: 70000}",
			[]string{`spec.listenPort: must be an integer 0-65535, got 70000`}},
		{"as number text", "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1}\nspec: {bgp: {asNumber: big}}",
			[]string{`spec.bgp.asNumber: AS number "big"`}},
		{"rule port", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n    destination: {ports: ['90:80']}\n",
			[]string{`spec.ingress[0].destination.ports[0]: port range "90:80": start is greater than end`}},
		{"duration", "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {reportingInterval: 30}",
			[]string{`spec.reportingInterval: duration must be a string`}},
		{"list not object", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p1}\nspec: [1]",
			[]string{`spec: must be an object`}},
		{"missing apiVersion", "kind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.0.0.0/16}",
			[]string{`document 1 (IPPool "p1"): apiVersion is missing`}},
		{"crd apiVersion", "apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: p1}\nspec: {cidr: 10.0.0.0/16}",
			[]string{`crd.projectcalico.org/v1`, `projectcalico.org/v3`}},
		{"foreign apiVersion", "apiVersion: v1\nkind: IPPool\nmetadata: {name: p1}\nspec: {}",
			[]string{`apiVersion "v1" is not supported`}},
		{"missing kind", "apiVersion: projectcalico.org/v3\nmetadata: {name: p1}\nspec: {}",
			[]string{`kind is missing`}},
		{"unknown kind", "apiVersion: projectcalico.org/v3\nkind: Pod\nmetadata: {name: p1}",
			[]string{`unknown kind "Pod"`}},
		{"kind case", "apiVersion: projectcalico.org/v3\nkind: ippool\nmetadata: {name: p1}",
			[]string{`did you mean "IPPool"`}},
		{"alias is not a kind", "apiVersion: projectcalico.org/v3\nkind: pools\nmetadata: {name: p1}",
			[]string{`unknown kind "pools"`}},
		{"scalar document", "just text", []string{"document 1", "must be an object"}},
		{"yaml syntax line", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\n---\n# second\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: [oops\n",
			[]string{"document 2", "invalid YAML", "line 9"}},
		{"bad json", `{"kind":"IPPool",}`, []string{"document 1", "invalid JSON"}},
		{"list item", `{"apiVersion":"projectcalico.org/v3","kind":"IPPoolList","items":[{"metadata":{"name":"a"},"spec":{"cidr":"10.0.0.0/16"}},{"metadata":{"name":"b"},"spec":{"cidr":"10.1.0.0/16","blocksize":26}}]}`,
			[]string{`document 1 item 2 (IPPool "b"): unknown field "spec.blocksize"`, `did you mean "blockSize"`}},
		{"bad label", "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: n1, labels: {a: [1]}}\nspec: {}",
			[]string{`metadata.labels: label "a": value must be a string`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := DecodeDocuments([]byte(c.input))
			if err == nil {
				t.Fatalf("no error; decoded %d resources", len(rs))
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error is %T, want *DecodeError", err)
			}
			if rs != nil {
				t.Errorf("partial result returned with the error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDecodeShapes(t *testing.T) {
	pool := func(name, cidr string) string {
		return `{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"` + name + `"},"spec":{"cidr":"` + cidr + `"}}`
	}
	cases := []struct {
		name, input string
		want        []string // names in order
	}{
		{"empty", "  \n# only a comment\n", nil},
		{"one json", pool("a", "10.0.0.0/16"), []string{"a"}},
		{"concatenated json", pool("a", "10.0.0.0/16") + "\n" + pool("b", "10.1.0.0/16"), []string{"a", "b"}},
		{"json array", "[" + pool("a", "10.0.0.0/16") + "," + pool("b", "10.1.0.0/16") + "]", []string{"a", "b"}},
		{"generic List", `{"apiVersion":"v1","kind":"List","items":[` + pool("a", "10.0.0.0/16") + `]}`, []string{"a"}},
		{"typed list without item kinds", "apiVersion: projectcalico.org/v3\nkind: IPPoolList\nitems:\n- metadata: {name: a}\n  spec: {cidr: 10.0.0.0/16}\n- metadata: {name: b}\n  spec: {cidr: 10.1.0.0/16}\n", []string{"a", "b"}},
		{"yaml stream with empty docs and leading ---", "---\n# c\n---\napiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: a}\nspec: {cidr: 10.0.0.0/16}\n---\n---\napiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: b}\nspec: {}\n...\n", []string{"a", "b"}},
		{"yaml holding a json object", pool("a", "10.0.0.0/16"), []string{"a"}},
		{"crlf", "apiVersion: projectcalico.org/v3\r\nkind: IPPool\r\nmetadata: {name: a}\r\nspec: {cidr: 10.0.0.0/16}\r\n---\r\napiVersion: projectcalico.org/v3\r\nkind: IPPool\r\nmetadata: {name: b}\r\nspec: {cidr: 10.1.0.0/16}\r\n", []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := DecodeDocuments([]byte(c.input))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.GetObjectMeta().Name)
				if r.GetTypeMeta().APIVersion != Group {
					t.Errorf("%s: apiVersion %q", r.GetObjectMeta().Name, r.GetTypeMeta().APIVersion)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("names %v, want %v", got, c.want)
			}
		})
	}
}

// TestSeedManifests decodes and validates the four manifests of the seed article exactly as
// written there (test/fixtures/seed), including `route-reflector: true` as an unquoted bool.
func TestSeedManifests(t *testing.T) {
	read := func(name string) Resource {
		t.Helper()
		data, err := readFixture("seed/" + name)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := DecodeDocuments(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rs) != 1 {
			t.Fatalf("%s: %d resources", name, len(rs))
		}
		if d, ok := rs[0].(Defaulter); ok {
			d.Default()
		}
		if err := rs[0].(Validator).Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return rs[0]
	}
	p := read("default-ipv4-ippool.yaml").(*IPPool)
	if p.Name != "default-ipv4-ippool" || p.Spec.CIDR != "10.244.0.0/16" || p.Spec.IPIPMode != EncapCrossSubnet ||
		p.Spec.VXLANMode != EncapNever || p.Spec.BlockSize != 24 || !p.Spec.NATOutgoing || p.ResourceVersion != "473394" {
		t.Errorf("pool decoded wrong: %+v", p)
	}
	n := read("01-calico-reflector-master.yaml").(*Node)
	if n.Name != "master01" || n.Labels["route-reflector"] != "true" || n.Spec.BGP == nil ||
		n.Spec.BGP.IPv4Address != "100.100.137.200/24" || n.Spec.BGP.IPv4IPIPTunnelAddr != "10.244.0.1" ||
		n.Spec.BGP.RouteReflectorClusterID != "1.1.1.1" {
		t.Errorf("node decoded wrong: %+v %+v", n, n.Spec.BGP)
	}
	b := read("02-calico-reflector-bgppeer.yaml").(*BGPPeer)
	if b.Name != "bgppeer-demo" || b.Spec.NodeSelector != "all()" || b.Spec.PeerSelector != `route-reflector=="true"` {
		t.Errorf("peer decoded wrong: %+v", b.Spec)
	}
	c := read("03-calico-reflector-defaultconfig.yaml").(*BGPConfiguration)
	if c.Name != "default" || c.MeshEnabled() || c.Spec.ASNumber == nil || *c.Spec.ASNumber != 63400 || c.Spec.LogSeverityScreen != "Info" {
		t.Errorf("bgp config decoded wrong: %+v", c.Spec)
	}
}

func TestTypoSuggestions(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {bpfLogLevl: Debug}",
			`unknown field "spec.bpfLogLevl" (did you mean "bpfLogLevel"?)`},
		{"apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16, natOutgong: true}",
			`unknown field "spec.natOutgong" (did you mean "natOutgoing"?)`},
		{"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{action: Allow, destinaton: {}}]}",
			`unknown field "spec.ingress[0].destinaton" (did you mean "destination"?)`},
		{"apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16, zzzz: 1}",
			`unknown field "spec.zzzz"`},
		{"apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolcy\nmetadata: {name: p}\nspec: {}",
			`unknown kind "GlobalNetworkPolcy" (did you mean "GlobalNetworkPolicy"?)`},
		{"apiVersion: projectcalico.org/v3\nkind: FelixConfig\nmetadata: {name: p}\nspec: {}",
			`did you mean "FelixConfiguration"?)`},
		{"apiVersion: projectcalico.org/v3\nkind: IPPoool\nmetadata: {name: p}\nspec: {}",
			`unknown kind "IPPoool" (did you mean "IPPool"?)`},
	} {
		_, err := DecodeDocuments([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if err != nil && strings.HasSuffix(c.want, `"spec.zzzz"`) && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("no plausible field, yet a suggestion: %v", err)
		}
	}
}
