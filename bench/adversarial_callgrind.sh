#!/usr/bin/env bash
# Instructions per warm check, normal origins vs the adversarial origin (bench/adversarial_callgrind.py).
# Usage, from the repository root: bash bench/adversarial_callgrind.sh   (a few minutes)
set -euo pipefail
python=${PYTHON:-python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$work/out.%p" \
    "$python" bench/adversarial_callgrind.py "$work" >"$work/log" 2>"$work/err" &
pid=$!
step() { until grep -qx "$1" "$work/log" 2>/dev/null; do sleep 1; done; }
step normal
callgrind_control -z "$pid" >/dev/null 2>&1 && touch "$work/normal.go"
step adversarial
callgrind_control -d normal "$pid" >/dev/null 2>&1 && callgrind_control -z "$pid" >/dev/null 2>&1
touch "$work/adversarial.go"
step end
callgrind_control -d adversarial "$pid" >/dev/null 2>&1 && touch "$work/end.go"
wait "$pid"
read -r _ normal_checks costly_checks < <(grep '^checks' "$work/log")
count() { grep -l "^desc: Trigger: dump $1" "$work"/out.* | xargs grep '^summary:' | awk '{print $2}'; }
normal=$(count normal)
costly=$(count adversarial)
awk -v n="$normal" -v nc="$normal_checks" -v c="$costly" -v cc="$costly_checks" 'BEGIN {
    printf "normal origins: %d instructions per check (%d checks)\n", n / nc, nc
    printf "adversarial origin: %d instructions per check (%d checks)\n", c / cc, cc
    printf "ratio: %.1fx\n", (c / cc) / (n / nc) }'
