// Package scenarios holds the tests that run inside the qemu VM (test/vm/runner boots Debian's
// stock kernel, which has IPIP; this machine's kernel does not). They are compiled into one
// static test binary (CGO_ENABLED=0 go test -c) and skip themselves outside the VM, so
// `go test ./...` on the host stays green.
//
// A scenario builds its hosts with test/testbed, the same namespace test bed test/e2e uses,
// and drives brindle through the binary the runner puts at $BRINDLE_BIN (/mnt/brindle):
// StartBrindle for daemons (`brindle datastore run`, `brindle node run`) in a host's
// namespace, stopped by PID when the test ends, and RunBrindle for one-shot CLI calls.
//
// Files: vm.go (environment), brindle.go (process harness), workload.go (Calico-style
// workload plumbing by hand), nft.go (nft counters), smoke_test.go (the infrastructure smoke
// test).
package scenarios
