#!/usr/bin/env bash
# Mutation testing of the pure core (signals/ and core/) with mutmut, one module at a time.
#
# Usage: ./scripts/mutation.sh [module...]      (default: every module in MODULES below)
#   SAMPLE=n   mutants tried per module, drawn at random with SEED (default 80; 0 = all of them)
#   SEED=n     the sample's seed (default 18), so that a run can be repeated
#   JOBS=n     mutants run in parallel (default 1: the machine is shared)
#   VENV=dir   the virtualenv holding the `mutation` extra (default .venv)
#
# Each module is mutated in its own scratch copy under build/mutation/<module>/ and each mutant
# runs only the module's own tests (TESTS below), and of those only the ones that execute the
# mutated function (mutmut records which tests reach which function). Results per module go to
# build/mutation/<module>/survivors.txt (with the diff of every survivor) and a summary table
# is printed. Not part of every CI run: a complete run takes hours on two cores.
# docs/testing.md records the last run and classifies its survivors.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
SAMPLE=${SAMPLE:-80}
SEED=${SEED:-18}
JOBS=${JOBS:-1}
OUT=$ROOT/build/mutation

declare -A SOURCE=(
  [patterns]=signals/patterns.py
  [robots]=signals/robots.py
  [aipref]=signals/aipref.py
  [contentsignal]=signals/contentsignal.py
  [aitxt]=signals/aitxt.py
  [tdmrep]=signals/tdmrep.py
  [decide]=core/decide.py
)
declare -A TESTS=(
  [patterns]="tests/test_patterns.py tests/signals/test_patterns_urls_guarded.py tests/test_robots_conformance.py tests/signals/test_robots_rules_guarded.py tests/signals/test_aitxt_rules_guarded.py tests/hostile/test_hostile_matching_index.py"
  [robots]="tests/test_robots.py tests/test_robots_conformance.py tests/signals/test_robots_rules_guarded.py tests/signals/test_robots_group_boundaries.py tests/hostile/test_hostile_matching_index.py"
  [aipref]="tests/test_aipref.py tests/test_aipref_vocab08.py tests/signals/test_preference_entries_guarded.py tests/signals/test_robots_rules_guarded.py"
  [contentsignal]="tests/test_contentsignal.py tests/test_content_signal_use.py tests/signals/test_preference_entries_guarded.py"
  [aitxt]="tests/test_aitxt.py tests/signals/test_aitxt_rules_guarded.py tests/hostile/test_hostile_matching_index.py"
  [tdmrep]="tests/test_tdmrep.py tests/signals/test_tdmrep_rules_guarded.py tests/hostile/test_hostile_matching_index.py"
  [decide]="tests/test_decide.py tests/test_aipref_vocab08.py tests/test_content_signal_use.py tests/test_robots_meta_beyond_noai.py tests/core/test_decide_rows_guarded.py"
)
MODULES=(patterns robots aipref contentsignal aitxt tdmrep decide)
[ $# -gt 0 ] && MODULES=("$@")

"$VENV/bin/python" -c "import mutmut" 2>/dev/null || {
  echo "mutmut is missing: $VENV/bin/pip install -e '.[test,mutation]'" >&2
  exit 2
}
# The mutated copy must be the one imported: no PYTHONPATH pointing at the real sources.
unset PYTHONPATH
export PATH="$VENV/bin:$PATH"

for module in "${MODULES[@]}"; do
  source=${SOURCE[$module]:?unknown module $module (known: ${!SOURCE[*]})}
  work=$OUT/$module
  rm -rf "$work"
  mkdir -p "$work"
  cp -r src tests docs "$work/"  # some tests read docs/ (the listed deviations)
  find "$work" -name __pycache__ -prune -exec rm -rf {} +
  tests=${TESTS[$module]}
  {
    cat pyproject.toml
    echo
    echo "[tool.mutmut]"
    echo 'source_paths = ["src/reservation_crawler"]'
    echo "only_mutate = [\"src/reservation_crawler/$source\"]"
    echo "pytest_add_cli_args_test_selection = [$(printf '"%s", ' $tests)]"
    echo 'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-p", "no:timeout"]'
    # Fork each mutant from a process that has only collected the tests: one that has run
    # them holds warm caches (compiled patterns, rule heads) that would hide mutants.
    echo 'process_isolation = "forkserver"'
    echo 'use_git_change_detection = false'
    echo 'also_copy = ["docs"]'
  } >"$work/pyproject.toml"

  echo "== $module: $source, tests: $tests"
  (
    cd "$work"
    # First pass: generate the mutants and record which tests reach which function. The
    # filter matches no mutant on purpose, so that nothing is run yet.
    mutmut run "no-such-mutant" >generate.log 2>&1 || true
    "$VENV/bin/python" - "$source" "$SAMPLE" "$SEED" >sample.txt <<'PY'
import json, random, sys
from pathlib import Path
source, sample, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
meta = Path("mutants/src/reservation_crawler") / (source + ".meta")
names = sorted(json.loads(meta.read_text())["exit_code_by_key"])
if sample and sample < len(names):
    names = sorted(random.Random(seed).sample(names, sample))
print("\n".join(names))
PY
    [ -s sample.txt ] || { echo "no mutants generated; see $work/generate.log" >&2; exit 1; }
    xargs -a sample.txt mutmut run --max-children "$JOBS" >run.log 2>&1 || true
    mutmut results --all true >results.txt 2>&1 || true
    : >survivors.txt
    # results.txt lists every mutant of the module ("name: status"); keep the sampled ones.
    awk -F': ' 'NR == FNR { sampled[$1]; next } ($1 in sampled) && $2 != "killed"' \
      sample.txt <(sed 's/^ *//' results.txt) | while IFS=': ' read -r name status; do
      { echo "## $name ($status)"; mutmut show "$name" 2>/dev/null | tail -n +2; echo; } >>survivors.txt
    done
  )
done

"$VENV/bin/python" - "$OUT" "${MODULES[@]}" <<'PY' | tee "$OUT/summary.txt"
import sys
from pathlib import Path
out, modules = Path(sys.argv[1]), sys.argv[2:]
print(f"\n{'module':<15}{'sampled':>8}{'killed':>8}{'survived':>9}{'other':>7}{'score':>8}")
for module in modules:
    work = out / module
    sampled = set((work / "sample.txt").read_text().split())
    status = {}
    for line in (work / "results.txt").read_text().splitlines():
        name, _, state = line.strip().partition(": ")
        if name in sampled:
            status[name] = state
    killed = sum(s == "killed" for s in status.values())
    survived = sum(s == "survived" for s in status.values())
    other = len(sampled) - killed - survived
    score = killed / len(sampled) if sampled else 0.0
    print(f"{module:<15}{len(sampled):>8}{killed:>8}{survived:>9}{other:>7}{score:>8.0%}")
print(f"\nsurvivors and their diffs: {out}/<module>/survivors.txt")
PY
