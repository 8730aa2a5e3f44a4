#!/usr/bin/env bash
# Runs each fuzz target for FUZZTIME and prints executions and findings per target
# (issue 16 item 5). `go test -fuzz` takes one target per invocation, hence the loop.
# usage: scripts/fuzz.sh [ci|all]   FUZZTIME=10s by default
#   ci:  the targets whose packages build quickly (make test runs these)
#   all: ci plus the policy model and the agent-cache BGP target (long campaigns: make fuzz)
# A finding is a failing input, which go test writes to <pkg>/testdata/fuzz/<Target>/;
# keep it there (it becomes a regression test) and fix the code. Exit status 1 if any.
set -u
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
GO=${GO:-go}
targets=(
	"./api/selector FuzzParse"
	"./api FuzzDecodeValidate"
	"./cni FuzzParseCall"
	"./calc FuzzComputeBGP"
)
if [ "${1:-ci}" = all ]; then
	targets+=("./calc/policy FuzzRecords" "./node FuzzBGPPeers")
fi
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
failed=0
rows=()
for t in "${targets[@]}"; do
	set -- $t
	pkg=$1 name=$2
	start=$(date +%s)
	if $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log/$name" 2>&1; then
		result=ok
	elif ! grep -q 'Failing input written to' "$log/$name" && tail -5 "$log/$name" | grep -q 'context deadline exceeded'; then
		# Go before 1.27 can report the -fuzztime deadline itself as a failure when a
		# worker is mid-call under load (golang/go#75804); no input failed.
		result="ok (go#75804 deadline report, no failing input)"
	else
		result="FINDING (see $pkg/testdata/fuzz/$name)"
		failed=1
		tail -30 "$log/$name"
	fi
	execs=$(grep -o 'execs: [0-9]*' "$log/$name" | tail -1 | cut -d' ' -f2)
	corpus=$(grep -o 'total: [0-9]*' "$log/$name" | tail -1 | cut -d' ' -f2)
	rows+=("$(printf '%-22s %-14s %10s %8s %6ss  %s' "$name" "$pkg" "${execs:-0}" "${corpus:-0}" "$(($(date +%s) - start))" "$result")")
done
printf '%-22s %-14s %10s %8s %7s  %s\n' target package execs corpus wall result
printf '%s\n' "${rows[@]}"
exit $failed
