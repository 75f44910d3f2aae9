"""Property-based fuzzing of every parser on corpus-seeded mutations: none may raise.

Issue #12 ("Fuzzing in CI"). Hypothesis mutates real files from tests/data (byte flips,
insertions, deletions, splices, duplications, truncation) and feeds random bytes; each parser
must return (with findings) instead of raising, and answer questions about what it parsed. The
examples per target keep the whole module near a minute on CI's two cores; `scripts/fuzz.sh`
runs a long coverage-guided atheris campaign over the same targets. A crash found either way
becomes a regression case in REGRESSIONS below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from targets import TARGETS, seeds

pytestmark = pytest.mark.hostile

# Inputs that once crashed a parser (kept so they never do again).
REGRESSIONS: dict[str, list[bytes]] = {
    "page": [b"Content-Type: text/html; charset=zlib\n\n<meta name=robots content=noai>"],
    "headers": [b"\x00", b"\xff" * 3, b"train-ai=n, " * 2000],
    "robots": [b"User-agent: *\nDisallow: /" + b"*a" * 5000 + b"$\n"],
}


@st.composite
def mutated(draw: st.DrawFn, target: str) -> bytes:
    pool = seeds(target)
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "splice", "dup", "cut"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(
                st.one_of(
                    st.binary(max_size=16),
                    st.sampled_from(
                        [
                            b"\n",
                            b"\r",
                            b"*",
                            b"$",
                            b"%",
                            b"%C3",
                            b"\xef\xbb\xbf",
                            b":",
                            b"/",
                            b"User-agent: ",
                            b"Disallow: ",
                            b"<meta ",
                            b"{",
                            b"[",
                            b'"',
                            b"\x00",
                        ]
                    ),
                )
            )
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "splice":
            other = draw(st.sampled_from(pool))
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 200))]
        elif op == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(2, 20))
        elif op == "cut":
            del data[at:]
    return bytes(data)


def _inputs(target: str) -> st.SearchStrategy[bytes]:
    return st.one_of(mutated(target), st.binary(max_size=2048))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_parsers_never_raise_on_mutated_corpus_input(target):
    @settings(
        max_examples=400,
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=_inputs(target))
    def run(data: bytes) -> None:
        TARGETS[target](data)

    run()


@pytest.mark.parametrize(
    ("target", "data"), [(t, d) for t, cases in REGRESSIONS.items() for d in cases]
)
def test_regressions_found_by_fuzzing(target, data):
    TARGETS[target](data)
