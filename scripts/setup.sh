#!/usr/bin/env bash
# Installs everything brindle's build, tests and demo need on a fresh Debian 12 machine.
# Idempotent: safe to run again.
set -euo pipefail

pkgs=(iproute2 nftables iptables iputils-ping tcpdump iperf3 containernetworking-plugins
      bird2 etcd-client etcd-server qemu-system-x86 busybox-static file jq
      docker.io podman   # runtime tests (test/e2e/docker_test.go, podman_test.go)
      systemd)  # systemd-analyze verifies the units (deploy/)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's docker.io and podman are for the runtime tests (test/e2e/docker_test.go): they
# start their own dockerd in test namespaces; a docker.service the package starts is left alone.
# Debian's etcd-server package starts a daemon on 2379; the tests run their own etcd.
if systemctl is-active --quiet etcd 2>/dev/null; then systemctl stop etcd || true; fi

export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
go mod download
command -v cnitool >/dev/null || go install github.com/containernetworking/cni/cnitool@v1.3.1

# VM suite (test/vm, make test-vm): xz extracts the kernel's vmlinux for qemu's PVH boot.
if ! command -v xz >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xz-utils
fi
