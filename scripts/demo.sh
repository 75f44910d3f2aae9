#!/usr/bin/env bash
# Installs reservation-crawler into .venv (created if missing) and runs the main job:
# a crawl of the local fixture web into the embedded Redis. Extra arguments go to `demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check .
exec .venv/bin/reservation-crawler demo "$@"
