# brindle: see README.md. Everything here runs as root on Debian 12 (tests create namespaces).
GO      ?= go
PKG     := github.com/brindle-net/brindle
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(PKG)/cli.Version=$(VERSION) -X $(PKG)/cli.Commit=$(COMMIT)
# Test timeout per package; the e2e and VM suites set their own inside.
TESTFLAGS ?= -timeout 20m

.PHONY: all build setup test test-unit test-vm lint bench clean fuzz fuzz-ci

all: build

# bin/brindle is the lean build with the full build embedded (see docs/architecture.md):
# daemon roles exec the embedded full build, the CNI path never pays its package init.
build:
	mkdir -p bin cli/payload
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/.brindle-full.$$$$ . && mv bin/.brindle-full.$$$$ bin/.brindle-full
	gzip -6 -c bin/.brindle-full > cli/payload/.brindle-server.gz.$$$$ && mv cli/payload/.brindle-server.gz.$$$$ cli/payload/brindle-server.gz
	sha256sum bin/.brindle-full | cut -d' ' -f1 > cli/payload/brindle-server.sha256
	$(GO) version -m bin/.brindle-full | sed '1s|^[^:]*:|brindle-server:|' > cli/payload/brindle-server.modules
	CGO_ENABLED=0 $(GO) build -trimpath -tags brindle_lean,urfave_cli_no_docs -ldflags "$(LDFLAGS)" -o bin/brindle .
	rm -f bin/.brindle-full

# Installs what building and testing need on a fresh Debian machine (idempotent).
setup:
	bash scripts/setup.sh

# The whole suite: unit, root-level namespace tests, e2e test bed, VM suite.
# The e2e and fault packages share one full build (BRINDLE_E2E_BIN) instead of each linking its own.
test: build lint
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/.brindle-test .
	BRINDLE_E2E_BIN=$(CURDIR)/bin/.brindle-test $(GO) test $(TESTFLAGS) -p 1 ./...
	$(MAKE) fuzz-ci
	$(MAKE) test-vm

test-unit:
	$(GO) test $(TESTFLAGS) ./api/... ./calc/...

test-vm: build
	@if [ -f test/vm/Makefile.inc ]; then $(MAKE) -f test/vm/Makefile.inc vm-test; else echo "test-vm: no VM suite yet"; fi

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The main job: a local three-host cluster (see test/demo/Makefile.inc for demo and demo-down).
include test/demo/Makefile.inc

# fault suite
# Fuzz targets (scripts/fuzz.sh): `make test` runs the quick ones 10 s each; `make fuzz
# FUZZTIME=10m` runs every target that long and prints executions and findings.
FUZZTIME ?= 10m
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh all
fuzz-ci:
	FUZZTIME=10s GO=$(GO) bash scripts/fuzz.sh ci

bench: build
	$(GO) test -run XXX -bench . -benchtime 1x ./bench/... 

clean:
	rm -rf bin cli/payload

# fault suite
# etcd cluster faults and a host cut off from etcd (test/fault/etcd): CI holds each outage 60 s; this holds them 5 min.
test-faults-long-etcd:
	BRINDLE_FAULT_OUTAGE=300s $(GO) test -count=1 -v -timeout 40m -run TestEtcdFaults ./test/fault/etcd/

# the churn soak (test/fault/churn): CI runs 200 cycles; this runs 10,000.
soak:
	BRINDLE_SOAK_CYCLES=$${BRINDLE_SOAK_CYCLES:-10000} $(GO) test -count=1 -v -timeout 4h -run TestContainerChurn ./test/fault/churn/
