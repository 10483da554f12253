#!/usr/bin/env bash
# Install PostGraphile 5 (the benchmark peer) into bench/peer/node_modules with the machine's npm.
# On Node 20 it warns EBADENGINE (it asks for Node >= 22); polyfill.cjs makes it work there.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund 2>/dev/null || npm install --no-audit --no-fund
