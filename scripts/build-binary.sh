#!/usr/bin/env bash
# Single self-contained binary (Bun runtime embedded; works offline): dist/tollgate
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist
node_modules/.bin/bun build --compile --minify-syntax src/bin/bun.ts --outfile dist/tollgate
