#!/usr/bin/env bash
# The whole suite, on Bun and on Deno, with one total line at the end: "N passed, N failed".
# Usage: scripts/test.sh [test paths…]   (default: test/)
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="$PWD/node_modules/.bin:$PATH"
out=test-output
rm -rf "$out" && mkdir -p "$out"
paths=("$@"); [ ${#paths[@]} -gt 0 ] || paths=(test/)
status=0

echo "== type check (tsc: core + Bun adapter; deno check: core + Deno adapter)"
tsc -p . --noEmit || status=1
deno check src/bin/deno.ts || status=1

echo "== lint (deno lint: src, test and scripts)"
deno lint --quiet || status=1

echo "== binary (bun build --compile), used by the binary smoke test"
bash scripts/build-binary.sh >/dev/null || status=1

echo "== bun test"
# a watchdog per runner: a hung test must fail the run, not eat CI's time
timeout --kill-after=30 1500 bun test --timeout 300000 --reporter=junit --reporter-outfile="$out/bun.xml" "${paths[@]}" 2>&1 | tee "$out/bun.log" | grep -E "^\(fail\)|^error:|^ *[0-9]+ (pass|fail)$" || true
[ "${PIPESTATUS[0]}" = 0 ] || status=1

echo "== deno test"
timeout --kill-after=30 1500 deno test -A --junit-path="$out/deno.xml" "${paths[@]}" > "$out/deno.log" 2>&1 || status=1
grep -E "FAILED|^error|passed .* failed" "$out/deno.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -20 || true

echo "== summary"
node scripts/count-junit.mjs "bun=$out/bun.xml" "deno=$out/deno.xml" || status=1
exit $status
