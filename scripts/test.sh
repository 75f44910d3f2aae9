#!/usr/bin/env bash
# Installs everything the tests need into .venv (created if missing) and runs the whole suite.
# Usage: ./scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
# The Redis Cluster tests start real redis-server processes (tests/conftest.py); under CI=true
# they fail rather than skip when it is missing.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis-server not found: the Redis Cluster tests will skip (apt-get install redis-server)" >&2
  fi
fi
# The web front's browser tests (tests/test_web_browser.py, marker "browser") drive Debian's
# Chromium through Playwright (never Playwright's own browser download); under CI=true they fail
# rather than skip when it is missing. axe-core (pinned in tools/axe) is injected into each page.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "chromium not found: the browser tests will skip (apt-get install chromium)" >&2
  fi
fi
if [ ! -f tools/axe/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm ci --prefix tools/axe --no-audit --no-fund --silent
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
.venv/bin/python scripts/unasync.py --check
.venv/bin/mypy  # the type checker, configured in pyproject.toml [tool.mypy]
./scripts/duplicates.sh >/dev/null || ./scripts/duplicates.sh  # no 6-line block repeated in src/
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
