#!/usr/bin/env bash
# A long coverage-guided fuzzing campaign (atheris / libFuzzer) over every parser.
# Usage: ./scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 600 s; all targets)
# Seeds come from tests/data; new interesting inputs collect in .fuzz/<target>/; crashes are
# written to .fuzz/crash-* and make this script exit 1. Not part of CI (CI runs the bounded
# hypothesis version, tests/hostile/test_fuzz_parsers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(robots aitxt tdmrep page headers)
PY=.venv/bin/python
[ -x "$PY" ] || { python3 -m venv .venv; }
"$PY" -m pip install --quiet --disable-pip-version-check -e . atheris
mkdir -p .fuzz
status=0
for target in "${targets[@]}"; do
  corpus=.fuzz/$target
  mkdir -p "$corpus"
  PYTHONPATH=tests/fuzz "$PY" - "$target" "$corpus" <<'PY'
import sys
from pathlib import Path
from targets import seeds
target, corpus = sys.argv[1], Path(sys.argv[2])
for i, seed in enumerate(seeds(target, limit=200)):
    (corpus / f"seed-{i:03d}").write_bytes(seed)
PY
  echo "fuzzing $target for ${seconds}s (corpus $corpus)"
  if ! "$PY" tests/fuzz/fuzz_atheris.py "$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -timeout=10 -artifact_prefix=.fuzz/ "$corpus"; then
    echo "fuzz: $target crashed; the input is in .fuzz/crash-*" >&2
    status=1
  fi
done
exit $status
