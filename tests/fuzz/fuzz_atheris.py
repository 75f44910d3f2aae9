"""A coverage-guided fuzzing campaign (atheris) over the parser targets; run by scripts/fuzz.sh.

    python tests/fuzz/fuzz_atheris.py TARGET [libFuzzer options...] CORPUS_DIR

TARGET is one of targets.TARGETS (robots, aitxt, tdmrep, page, headers). A crash leaves its input
in ``crash-*`` files: add it to REGRESSIONS in tests/hostile/test_fuzz_parsers.py and fix the
parser.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["reservation_crawler"]):
    from targets import TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(sorted(TARGETS))}}} [libFuzzer options]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
