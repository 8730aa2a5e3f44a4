package e2e

// The rows of the policy conformance matrix (issue #11): one per semantic, each with the
// policy it applies and checks that must pass AND checks that must be dropped, so neither an
// allow-all nor a deny-all dataplane can pass a row. Rows select their own target container
// by a `row` label, so all rows of a phase are applied at once without interfering.
//
// Containers (matrixContainers): clients on node1, one target per row on node2, so every
// probe crosses hosts. cli1 (role=client) and cli2 (role=other) are plain clients of the
// network brindle-e2e in namespace default; clit1/clit2 are role=client in namespaces team1
// and team2; clinb is on a second CNI network brindle-b. Setup YAML is a text/template
// over the containers' addresses ({{.cli1}}).

type check struct {
	from, to string // container names; to "host:<node>" is that host's address
	proto    string // tcp, udp, icmp (port = ICMP code), sink (own source), forged (forged source)
	port     int
	want     bool // true: must get through; false: must be dropped
}

type row struct {
	name   string
	phase  int // 1: applied together at the start; 2: after the live changes (phase2Apply)
	setup  string
	checks []check
}

func tcp(from, to string, port int, want bool) check { return check{from, to, "tcp", port, want} }
func udp(from, to string, port int, want bool) check { return check{from, to, "udp", port, want} }

// matrixRows: the issue's semantics first, then further rows (policyrows2_test.go).
var matrixRows = append(issueRows, moreRows...)

var issueRows = []row{
	{name: "default deny per direction: ingress-only policy, no rules", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: deny-ingress}
spec: {selector: row == 'deny', types: [Ingress]}
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: egress-8081-only}
spec:
  selector: row == 'egress'
  types: [Egress]
  egress: [{action: Allow, protocol: TCP, destination: {ports: [8081]}}]
`, checks: []check{
		tcp("cli1", "tdeny", 8081, false), // its ingress is selected: default deny
		tcp("tdeny", "cli1", 8081, true),  // its egress is not: profile allows
		tcp("tegress", "cli1", 8081, true),
		tcp("tegress", "cli1", 8082, false), // egress selected, only 8081 allowed
		tcp("cli1", "tegress", 8082, true),  // ingress not selected: profile allows
	}},
	{name: "Pass across tiers; tier defaultAction Pass; end of tier drops", phase: 1, setup: `
kind: Tier
apiVersion: projectcalico.org/v3
metadata: {name: t1}
spec: {order: 100}
---
kind: Tier
apiVersion: projectcalico.org/v3
metadata: {name: t2}
spec: {order: 200, defaultAction: Pass}
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: t1.pass-8081}
spec:
  tier: t1
  selector: row == 'pass'
  ingress: [{action: Pass, protocol: TCP, destination: {ports: [8081, 8083]}}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: t2.deny-8083}
spec:
  tier: t2
  selector: row == 'pass'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [8083]}}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: allow-8081-8082-8083}
spec:
  selector: row == 'pass'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8081, 8082, 8083]}}]
`, checks: []check{
		tcp("cli1", "tpass", 8081, true),  // Pass in t1, t2 ends in Pass, default tier allows
		tcp("cli1", "tpass", 8082, false), // no rule in t1 matches: end of tier t1 drops
		tcp("cli1", "tpass", 8083, false), // Pass in t1, Deny in t2
	}},
	{name: "order ties broken by name; unset order last", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: a-deny}
spec:
  order: 10
  selector: row == 'order'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [8083]}}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: b-allow}
spec:
  order: 10
  selector: row == 'order'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8083, 8084, 8085]}}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: c-deny}
spec:
  order: 10
  selector: row == 'order'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [8085]}}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: 0-unordered-deny}
spec:
  selector: row == 'order'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [8084, 8086]}}]
`, checks: []check{
		tcp("cli1", "torder", 8083, false), // a-deny before b-allow (same order, name)
		tcp("cli1", "torder", 8085, true),  // b-allow before c-deny
		tcp("cli1", "torder", 8084, true),  // unset order sorts last despite its name
		tcp("cli1", "torder", 8086, false), // only the unordered deny matches
	}},
	{name: "profiles only after the tiers", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: prof-pass}
spec:
  selector: row == 'prof'
  ingress: [{action: Pass, protocol: TCP, destination: {ports: [8081]}}]
`, checks: []check{
		tcp("cli1", "tprof", 8081, true),   // Pass to the profile: same network allowed
		tcp("clinb", "tprof", 8081, false), // Pass to the profile: other network dropped
		tcp("cli1", "tprof", 8082, false),  // end of tier: the profile is never reached
	}},
	{name: "namespaces: NetworkPolicy scope, rule selectors in its namespace, namespaceSelector all()", phase: 1, setup: `
kind: NetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: clients, namespace: team1}
spec:
  selector: row == 'ns'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: role == 'client'}, destination: {ports: [8081]}}
  - {action: Allow, protocol: TCP, source: {selector: role == 'client', namespaceSelector: all()}, destination: {ports: [8082]}}
---
kind: NetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: not-here, namespace: team2}
spec: {selector: row == 'ns', types: [Ingress]}
`, checks: []check{
		tcp("clit1", "tns", 8081, true),
		tcp("clit2", "tns", 8081, false), // role=client, but in team2
		tcp("cli1", "tns", 8081, false),  // role=client, but in default
		tcp("clit2", "tns", 8082, true),  // namespaceSelector all()
		tcp("clit1", "tns", 8083, false),
		tcp("clit1", "tns2", 8081, true), // row=ns in default: team2's deny does not select it
	}},
	{name: "named ports (WorkloadEndpoint ports)", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: named}
spec:
  selector: row == 'named'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [web]}}]
`, checks: []check{
		tcp("cli1", "tnamed", 8087, true), // "web" is 8087 on tnamed (set by the test)
		tcp("cli1", "tnamed", 8088, false),
	}},
	{name: "port ranges, TCP and UDP", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: ranges}
spec:
  selector: row == 'range'
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: ["9000:9010"]}}
  - {action: Allow, protocol: UDP, destination: {ports: ["9000:9010", 53]}}
`, checks: []check{
		tcp("cli1", "trange", 9005, true),
		tcp("cli1", "trange", 9011, false),
		udp("cli1", "trange", 9005, true),
		udp("cli1", "trange", 9011, false),
		udp("cli1", "trange", 53, true),
	}},
	{name: "nets and notNets", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: nets}
spec:
  selector: row == 'nets'
  ingress:
  - {action: Allow, protocol: TCP, source: {nets: ["{{.cli1}}/32"]}, destination: {ports: [8081]}}
  - {action: Allow, protocol: TCP, source: {notNets: ["{{.cli1}}/32"]}, destination: {ports: [8082]}}
`, checks: []check{
		tcp("cli1", "tnets", 8081, true),
		tcp("cli2", "tnets", 8081, false),
		tcp("cli1", "tnets", 8082, false),
		tcp("cli2", "tnets", 8082, true),
	}},
	{name: "network sets (GlobalNetworkSet, NetworkSet)", phase: 1, setup: `
kind: GlobalNetworkSet
apiVersion: projectcalico.org/v3
metadata: {name: trusted, labels: {trust: "yes"}}
spec: {nets: ["{{.cli2}}/32"]}
---
kind: NetworkSet
apiVersion: projectcalico.org/v3
metadata: {name: partners, namespace: default, labels: {partner: "yes"}}
spec: {nets: ["{{.cli1}}/32"]}
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: sets}
spec:
  selector: row == 'nset'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: trust == 'yes'}, destination: {ports: [8081]}}
  - {action: Allow, protocol: TCP, source: {selector: partner == 'yes', namespaceSelector: all()}, destination: {ports: [8082]}}
`, checks: []check{
		tcp("cli2", "tnset", 8081, true),
		tcp("cli1", "tnset", 8081, false),
		tcp("cli1", "tnset", 8082, true),
		tcp("cli2", "tnset", 8082, false),
	}},
	{name: "ICMP type and code; notICMP", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: icmp}
spec:
  selector: row == 'icmp'
  ingress:
  - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}
  - {action: Allow, protocol: ICMP, notICMP: {type: 8}}
`, checks: []check{
		{"cli1", "ticmp", "icmp", 0, true},  // echo request code 0
		{"cli1", "ticmp", "icmp", 1, false}, // echo request code 1: neither rule
		tcp("cli1", "ticmp", 8081, false),
	}},
	{name: "anti-spoofing: a forged source from a workload is dropped", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: spoof-allow-all-in}
spec: {selector: row == 'spoof', ingress: [{action: Allow}]}
`, checks: []check{
		{"cli1", "tspoof", "sink", 0, true},    // from its own address
		{"cli1", "tspoof", "forged", 0, false}, // from an address added to its eth0
	}},
	{name: "workload to host: defaultEndpointToHostAction Drop (default)", phase: 1, checks: []check{
		{"cli1", "host:node1", "icmp", 0, false}, // its own host: Drop
		{"cli1", "host:node2", "icmp", 0, true},  // another host is forwarded: egress allows
	}},
	{name: "two CNI networks isolated by their profiles", phase: 1, checks: []check{
		tcp("cli1", "tnet", 8081, true),
		tcp("clinb", "tnet", 8081, false),
		tcp("clinb", "tnetb", 8081, true),
		tcp("cli1", "tnetb", 8081, false),
	}},
	{name: "labels changed live: before", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: vip-only}
spec:
  selector: row == 'label'
  ingress: [{action: Allow, protocol: TCP, source: {selector: vip == 'true'}, destination: {ports: [8081]}}]
`, checks: []check{
		tcp("cli1", "tlabel", 8081, false),
		tcp("cli2", "tlabel", 8081, false),
		tcp("cli1", "tlabel2", 8081, true), // not yet selected
	}},
	{name: "labels changed live: after `brindle label` (cli1 vip=true, tlabel2 row=label)", phase: 2, checks: []check{
		tcp("cli1", "tlabel", 8081, true),
		tcp("cli2", "tlabel", 8081, false),
		tcp("cli2", "tlabel2", 8081, false), // now selected
		tcp("cli1", "tlabel2", 8081, true),
	}},
	{name: "workload to host: defaultEndpointToHostAction Accept (FelixConfiguration, live)", phase: 2, checks: []check{
		{"cli1", "host:node1", "icmp", 0, true},
		{"tegress", "host:node2", "icmp", 0, false}, // its egress policy decides first
	}},
}
