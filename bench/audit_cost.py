"""What the audit log costs the checking process, counted in CPU instructions (valgrind).

    python bench/audit_cost.py            # 1,000 new URLs and 5,000 memo hits, each sink mode
    python bench/audit_cost.py --urls 300 # quicker

Wall-clock ratios on a shared machine move by ±30% between runs (docs/benchmarks.md); an
instruction count does not. Each mode runs in its own process under ``valgrind
--tool=callgrind --instr-atstart=no``: set-up runs uninstrumented, and counting is switched on
(``callgrind_control -i on``) only around the checks and the final ``flush()`` of the sink, which
waits until every entry is written. Every thread of the checking process is counted (the
writer thread included); the writer process (``process=True``) is not (``--trace-children=no``):
it runs on another core, which is what it is for. The figure is instructions per check, and the
ratio to the same checks without an audit log (required: <= 1.25x).

Needs valgrind (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("none", "thread", "process")
KINDS = {"new": "warm policy, new URL (decide)", "memo": "warm, memo hit"}
MEMO_PASSES = 5


def measure(mode: str, kind: str, n: int) -> None:
    """Run inside valgrind: set up uninstrumented, count only the checks and the flush."""
    sys.path.insert(0, str(HERE))
    import lookup_bench as lb

    from reservation_crawler.drivers.audit import JsonlSink
    from reservation_crawler.drivers.cache import ReservationCache, connect

    policies, _, urls = lb.build_policies(50, 20, 1)
    urls = urls[:n]
    with lb.private_redis() as redis_url:
        cache = ReservationCache(connect(redis_url))
        for policy in policies:
            cache.put_policy(policy.origin, policy.to_json())
        directory = tempfile.mkdtemp(prefix="rc-audit-cost-")
        sink = None if mode == "none" else JsonlSink(directory, process=mode == "process")
        checker = lb.fresh_warm_checker(redis_url, policies, audit=sink)
        if kind == "memo":
            for url in urls:
                checker.check(url, lb.AGENT, lb.PURPOSE)
            if sink is not None:
                sink.flush()
            urls = urls * MEMO_PASSES
        toggle = ["callgrind_control", "-i"]
        subprocess.run([*toggle, "on", str(os.getpid())], capture_output=True, check=True)
        for url in urls:
            checker.check(url, lb.AGENT, lb.PURPOSE)
        if sink is not None:
            sink.flush()
        subprocess.run([*toggle, "off", str(os.getpid())], capture_output=True, check=True)
        checker.close()
        if sink is not None:
            sink.close()
        shutil.rmtree(directory, ignore_errors=True)


def instructions(mode: str, kind: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--trace-children=no",
            f"--callgrind-out-file={tmp}/callgrind.out",
            sys.executable,
            __file__,
            "--measure",
            mode,
            kind,
            str(n),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise SystemExit(f"no count from valgrind:\n{done.stderr[-2000:]}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--urls", type=int, default=1000, help="new URLs (memo: 5 passes)")
    options.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = options.parse_args(argv)
    if args.measure:
        mode, kind, n = args.measure
        measure(mode, kind, int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is needed (apt-get install valgrind)", file=sys.stderr)
        return 2
    print(f"{'checks':<34}{'audit log':<28}{'instr/check':>12}{'ratio':>8}")
    for kind, label in KINDS.items():
        checks = args.urls * (MEMO_PASSES if kind == "memo" else 1)
        base = None
        for mode in MODES:
            per_check = instructions(mode, kind, args.urls) / checks
            base = per_check if base is None else base
            sink = {
                "none": "none",
                "thread": "JSON Lines, thread",
                "process": "JSON Lines, process",
            }
            verdict = "" if mode == "none" else ("  ok" if per_check <= 1.25 * base else "  MISSED")
            print(
                f"{label:<34}{sink[mode]:<28}{per_check:>12,.0f}{per_check / base:>7.2f}x{verdict}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
