// Package scenarios holds the tests that run inside the qemu VM (test/vm/runner boots Debian's
// stock kernel, which has IPIP; this machine's kernel does not). They are compiled into one
// static test binary (CGO_ENABLED=0 go test -c) and skip themselves outside the VM, so
// `go test ./...` on the host stays green.
//
// A scenario builds its hosts with test/testbed, the same namespace test bed test/e2e uses,
// and drives brindle through the binary the runner puts at $BRINDLE_BIN (/tmp/brindle, a
// copy of /mnt/brindle in guest RAM). The product scenarios run a whole cluster with
// test/e2e/cluster (datastore, `brindle node run` per host, CNI containers, CLI); the
// infrastructure smoke tests use StartBrindle and RunBrindle directly.
//
// Files: vm.go (environment), brindle.go (process harness), workload.go (Calico-style
// workload plumbing by hand), nft.go (nft counters), smoke_test.go and binary_test.go (the
// infrastructure smoke tests), cluster.go (cluster, seed manifests, agents, containers),
// encap.go (what the fabric carries, tunl0), routes.go (route expectations), status.go
// (`brindle node status` peers) and the product scenarios: ipip_mesh_test.go (full mesh,
// then the seed's route reflector), ipip_crosssubnet_test.go, ipip_switch_test.go (Always to
// CrossSubnet under ping), vxlan_test.go (Always, then CrossSubnet), noencap_test.go.
package scenarios
