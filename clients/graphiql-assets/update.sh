#!/usr/bin/env bash
# Refreshes the GraphiQL page's vendored browser builds in app/static/graphiql/ from the
# versions pinned by package-lock.json: `npm ci` installs exactly those tarballs (npm checks each
# against the lockfile's integrity), then update.mjs copies the files and writes manifest.json
# with each file's SRI hash. To move to newer versions: edit package.json, run
# `npm install --package-lock-only`, then this script, and commit all three.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
node update.mjs
