package e2e

// moreRows go beyond the list: Log, unenforceable rules, negations, service
// accounts, same-host traffic, host traffic, tiers in order, selectors, IP version, named
// ports on the egress side, overlapping sets, and live edits of policies, sets and profiles.
var moreRows = []row{
	{name: "Log goes on to the next rule", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: log}
spec:
  selector: row == 'log'
  ingress:
  - {action: Log, protocol: TCP, destination: {ports: [8081, 8082]}}
  - {action: Allow, protocol: TCP, destination: {ports: [8081]}}
`, checks: []check{
		tcp("cli1", "tlog", 8081, true),
		tcp("cli1", "tlog", 8082, false),
	}},
	{name: "a rule brindle cannot enforce (http) is skipped, never Allow", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: http}
spec:
  selector: row == 'http'
  ingress:
  - {action: Allow, protocol: TCP, http: {methods: [GET]}, destination: {ports: [8081]}}
  - {action: Allow, protocol: TCP, destination: {ports: [8082]}}
`, checks: []check{
		tcp("cli1", "thttp", 8081, false),
		tcp("cli1", "thttp", 8082, true),
	}},
	{name: "notPorts, protocol by number, notProtocol", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: nots}
spec:
  selector: row == 'not'
  ingress:
  - {action: Allow, protocol: TCP, destination: {notPorts: [8081, "9000:9010"]}}
  - {action: Allow, protocol: 17, destination: {ports: [53]}}
  - {action: Allow, notProtocol: TCP, source: {selector: role == 'other'}}
`, checks: []check{
		tcp("cli1", "tnot", 8082, true),
		tcp("cli1", "tnot", 8081, false),
		tcp("cli1", "tnot", 9005, false),
		udp("cli1", "tnot", 53, true),
		udp("cli1", "tnot", 9005, false),
		udp("cli2", "tnot", 9005, true),   // notProtocol TCP from role=other
		{"cli2", "tnot", "icmp", 0, true}, // likewise
		{"cli1", "tnot", "icmp", 0, false},
	}},
	{name: "serviceAccounts (names) in a rule", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: sa}
spec:
  selector: row == 'sa'
  ingress:
  - {action: Allow, protocol: TCP, source: {serviceAccounts: {names: [sa1]}}, destination: {ports: [8081]}}
`, checks: []check{
		tcp("cli2", "tsa", 8081, true), // cli2's endpoint has serviceAccountName sa1 (set by the test)
		tcp("cli1", "tsa", 8081, false),
	}},
	{name: "same host: the source's egress and the destination's ingress both apply", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: local}
spec:
  selector: row == 'local'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8081]}}]
  egress: [{action: Allow, protocol: TCP, destination: {ports: [8083]}}]
`, checks: []check{
		tcp("cli1", "tlocal", 8081, true),
		tcp("cli1", "tlocal", 8082, false),
		tcp("tlocal", "cli1", 8083, true),
		tcp("tlocal", "cli2", 8084, false),
	}},
	{name: "host to its local workload is not policed; another host's traffic is", phase: 1, checks: []check{
		tcp("host:node2", "tdeny", 8081, true),
		{"host:node2", "tdeny", "icmp", 0, true},
		tcp("host:node1", "tdeny", 8081, false), // forwarded by node2: ingress policy applies
	}},
	{name: "egress Deny to a destination selector", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: egress2}
spec:
  selector: row == 'egress2'
  types: [Egress]
  egress:
  - {action: Deny, destination: {selector: role == 'other'}}
  - {action: Allow}
`, checks: []check{
		tcp("tegress2", "cli1", 8081, true),
		tcp("tegress2", "cli2", 8081, false),
		udp("tegress2", "cli2", 53, false),
	}},
	{name: "labels inherited from the profile (labelsToApply) match selectors", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: inherit}
spec:
  selector: row == 'inh'
  ingress: [{action: Allow, protocol: TCP, source: {selector: has(brindle-b)}, destination: {ports: [8081]}}]
`, checks: []check{
		tcp("clinb", "tinh", 8081, true),
		tcp("cli1", "tinh", 8081, false),
	}},
	{name: "tiers in order (lower first, unset order last)", phase: 1, setup: `
kind: Tier
apiVersion: projectcalico.org/v3
metadata: {name: tlate}
spec: {order: 500}
---
kind: Tier
apiVersion: projectcalico.org/v3
metadata: {name: tearly}
spec: {order: 400}
---
kind: Tier
apiVersion: projectcalico.org/v3
metadata: {name: aaunordered}
spec: {}
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: tlate.deny}
spec:
  tier: tlate
  selector: row == 'tier'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [8081]}}, {action: Pass}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: tearly.allow}
spec:
  tier: tearly
  selector: row == 'tier'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8081]}}, {action: Pass}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: aaunordered.allow}
spec:
  tier: aaunordered
  selector: row == 'tier'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8082]}}]
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: tier-default-pass}
spec:
  selector: row == 'tier'
  ingress: [{action: Pass}]
`, checks: []check{
		tcp("cli1", "ttier", 8081, true),  // tearly (400) allows before tlate (500) denies
		tcp("cli1", "ttier", 8082, true),  // passed through tearly, tlate, default: the unordered tier is last
		tcp("cli1", "ttier", 8083, false), // the unordered tier ends in a drop
	}},
	{name: "rule selector with notSelector", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: notsel}
spec:
  selector: row == 'sel'
  ingress: [{action: Allow, protocol: TCP, source: {selector: has(role), notSelector: role == 'other'}}]
`, checks: []check{
		tcp("cli1", "tsel", 8081, true),
		tcp("cli2", "tsel", 8081, false),
	}},
	{name: "ipVersion 6 rules do not match IPv4", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: v6only}
spec:
  selector: row == 'v6'
  ingress:
  - {action: Allow, ipVersion: 6}
  - {action: Allow, ipVersion: 4, protocol: TCP, destination: {ports: [8082]}}
`, checks: []check{
		tcp("cli1", "tv6", 8081, false),
		tcp("cli1", "tv6", 8082, true),
	}},
	{name: "egress to a named port of a remote endpoint", phase: 1, setup: `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: egress-named}
spec:
  selector: row == 'egress3'
  types: [Egress]
  egress: [{action: Allow, protocol: TCP, destination: {ports: [web]}}]
`, checks: []check{
		tcp("cegress3", "tnamed", 8087, true), // "web" is 8087 on tnamed
		tcp("cegress3", "tnet", 8087, false),  // tnet has no port named web
		tcp("cegress3", "tnamed", 8088, false),
	}},
	{name: "overlapping network sets (a /16 and a /32 inside it)", phase: 1, setup: `
kind: GlobalNetworkSet
apiVersion: projectcalico.org/v3
metadata: {name: ov-wide, labels: {ov: "yes"}}
spec: {nets: ["10.244.0.0/16"]}
---
kind: GlobalNetworkSet
apiVersion: projectcalico.org/v3
metadata: {name: ov-narrow, labels: {ov: "yes"}}
spec: {nets: ["{{.cli1}}/32"]}
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: overlap}
spec:
  selector: row == 'ov'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: ov == 'yes'}, destination: {ports: [8081]}}
  - {action: Allow, protocol: TCP, source: {nets: ["10.244.0.0/16", "{{.cli2}}/32"]}, destination: {ports: [8082]}}
`, checks: []check{
		tcp("cli1", "tov", 8081, true),
		tcp("cli2", "tov", 8081, true),
		tcp("host:node1", "tov", 8081, false),
		tcp("cli2", "tov", 8082, true),
		tcp("host:node1", "tov", 8082, false),
	}},
	{name: "policy edited live (deny-ingress now allows 8082)", phase: 2, checks: []check{
		tcp("cli1", "tdeny", 8082, true),
		tcp("cli1", "tdeny", 8081, false),
	}},
	{name: "policy deleted live (icmp): the profile decides again", phase: 2, checks: []check{
		tcp("cli1", "ticmp", 8081, true),
		tcp("clinb", "ticmp", 8081, false),
	}},
	{name: "overlapping network sets: the wide one deleted live, the narrow one still holds", phase: 2, checks: []check{
		tcp("cli1", "tov", 8081, true),
		tcp("cli2", "tov", 8081, false),
	}},
	{name: "profile edited live (brindle-b also lets brindle-e2e reach TCP 8081)", phase: 2, checks: []check{
		tcp("cli1", "tnetb", 8081, true),
		tcp("cli1", "tnetb", 8082, false),
		tcp("clinb", "tnetb", 8082, true),
	}},
	{name: "network set edited live (trusted: cli2 -> cli1)", phase: 2, checks: []check{
		tcp("cli1", "tnset", 8081, true),
		tcp("cli2", "tnset", 8081, false),
	}},
}

// phase2Apply is what phase 2 applies (labels change through the CLI, see the test): the
// FelixConfiguration, a policy edited, a network set edited; phase2Delete is deleted.
const phase2Apply = `
kind: FelixConfiguration
apiVersion: projectcalico.org/v3
metadata: {name: default}
spec: {defaultEndpointToHostAction: Accept}
---
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: deny-ingress}
spec:
  selector: row == 'deny'
  types: [Ingress]
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [8082]}}]
---
kind: GlobalNetworkSet
apiVersion: projectcalico.org/v3
metadata: {name: trusted, labels: {trust: "yes"}}
spec: {nets: ["{{.cli1}}/32"]}
---
kind: Profile
apiVersion: projectcalico.org/v3
metadata: {name: brindle-b}
spec:
  ingress:
  - {action: Allow, source: {selector: has(brindle-b)}}
  - {action: Allow, protocol: TCP, source: {selector: has(brindle-e2e)}, destination: {ports: [8081]}}
  egress: [{action: Allow}]
  labelsToApply: {brindle-b: ""}
`

const phase2Delete = `
kind: GlobalNetworkPolicy
apiVersion: projectcalico.org/v3
metadata: {name: icmp}
---
kind: GlobalNetworkSet
apiVersion: projectcalico.org/v3
metadata: {name: ov-wide}
`
