#!/usr/bin/env bash
# The duplicates gate: no block of 6 or more lines (40+ tokens, comments ignored) repeated in
# src/, found by jscpd (pinned in tools/jscpd/package-lock.json; config in .jscpd.json). A
# repetition that has to stay is wrapped in "# jscpd:ignore-start" / "# jscpd:ignore-end" with
# a comment saying why. Generated code (``_sync/``) is left out: its source is checked instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x tools/jscpd/node_modules/.bin/jscpd ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm ci --prefix tools/jscpd --no-audit --no-fund --silent
fi
exec tools/jscpd/node_modules/.bin/jscpd --config .jscpd.json src/reservation_crawler
