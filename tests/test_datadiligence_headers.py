"""Spawning datadiligence's response-header vectors, decided by our reading.

datadiligence (v0.1.7) blocks when X-Robots-Tag has ``noai``/``noimageai`` (globally, or as
``ua: value`` with ua equal to its configured user agent) or when ``tdm-reservation`` is "1".
Our reading (``docs/tdmrep.md``): ``noai`` reserves AI use for everyone, or for the named agent
only; ``noimageai`` does the same **only for image responses**; ``tdm-reservation: 1``
reserves. The vectors carry no Content-Type, so each is decided as a non-image response; the
``noimageai`` vectors are decided again as an image, where our reading agrees with Spawning's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reservation_crawler.signals.page import PageSignals, parse_page

DATA = Path(__file__).parent / "data" / "headers" / "datadiligence_header_cases.json"
CASES = json.loads(DATA.read_text("utf-8"))["cases"]
URL = "https://example.com/resource"


def headers_of(case: dict) -> list[tuple[str, str]]:
    return [] if case["header_value"] is None else [(case["header"], case["header_value"])]


def allowed_by_our_reading(signals: PageSignals, agent: str) -> bool:
    """What decide() makes of these headers: noai/noimageai for the agent, or tdm-reservation 1."""
    return not signals.ai_reservations(agent) and signals.tdm_header.reservation != 1


def agent_of(case: dict) -> str:
    # datadiligence with user_agent=None ignores every "ua: value" entry: our "*".
    return case["crawler_user_agent"] or "*"


def differs_because(case: dict) -> str | None:
    """Why our reading differs from Spawning's on a non-image response (None: it agrees)."""
    value = (case["header_value"] or "").lower()
    entries = [entry.strip() for entry in value.split(",")]
    agent = agent_of(case).lower()
    if case["header"] == "X-Robots-Tag" and not case["allowed"]:
        scoped = [e.split(":", 1)[1].strip() for e in entries if e.startswith(f"{agent}:")]
        global_ = [e for e in entries if ":" not in e]
        if "noai" not in scoped + global_:
            return "noimageai-reserves-images-only"
    return None


def plain_id(case: dict) -> str:
    value = "absent" if case["header_value"] is None else repr(case["header_value"])
    return f"{case['header']}={value}-ua={case['crawler_user_agent']}"


def case_id(case: dict) -> str:
    why = differs_because(case)
    return plain_id(case) + (f"-DIFF:{why}" if why else "")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_datadiligence_header_case_as_non_image(case):
    signals = parse_page(URL, 200, headers_of(case), b"")
    ours = allowed_by_our_reading(signals, agent_of(case))
    if differs_because(case) == "noimageai-reserves-images-only":
        # Spawning blocks on noimageai whatever the response is; DeviantArt's noimageai (signals.md
        # §5) only opts images out, so on a response that is not an image nothing is reserved.
        assert not case["allowed"] and ours
    else:
        assert ours == case["allowed"]


NOIMAGEAI_CASES = [c for c in CASES if "noimageai" in (c["header_value"] or "")]


@pytest.mark.parametrize("case", NOIMAGEAI_CASES, ids=plain_id)
def test_datadiligence_noimageai_case_as_image_agrees(case):
    headers = [*headers_of(case), ("Content-Type", "image/png")]
    signals = parse_page(URL, 200, headers, b"\x89PNG\r\n\x1a\n")
    assert signals.is_image
    assert allowed_by_our_reading(signals, agent_of(case)) == case["allowed"]


def test_datadiligence_vectors_cover_both_headers():
    assert len(CASES) == 49
    assert {c["header"] for c in CASES} == {"X-Robots-Tag", "tdm-reservation"}
    assert sum(differs_because(c) is not None for c in CASES) == 3


# Where our reading is stricter or more lenient than Spawning's code, beyond its own vectors.


@pytest.mark.parametrize(
    ("value", "agent", "spawning_allows", "we_allow", "why"),
    [
        ("NoAI", "*", True, False, "tokens are case-insensitive (robots meta convention)"),
        (
            "SpawningBot: noai",
            "spawningbot",
            True,
            False,
            "agent tokens compare case-insensitively",
        ),
        ("spawningbot: noindex, noai", "spawningbot", False, False, "scope carries over (Google)"),
        ("spawningbot: noindex, noai", "*", False, True, "noai is scoped to spawningbot here"),
    ],
)
def test_datadiligence_reading_differs_on_x_robots_tag(
    value, agent, spawning_allows, we_allow, why
):
    signals = parse_page(URL, 200, [("X-Robots-Tag", value)], b"")
    assert allowed_by_our_reading(signals, agent) is we_allow, why
    datadiligence = pytest.importorskip("datadiligence.rules.http")
    rule = datadiligence.XRobotsTagHeader(user_agent=None if agent == "*" else agent)
    assert rule._eval_header_value(value) is spawning_allows


@pytest.mark.parametrize(
    ("value", "we_reserve"), [("1", True), ("yes", False), (" 1", True), ("1, 1", True)]
)
def test_datadiligence_reading_of_tdm_reservation_values(value, we_reserve):
    # Spawning: value.strip() != "1" allows. We read repeated fields ("1, 1") as one value and
    # report the repeat; anything but 0/1 is unset with a finding.
    signals = parse_page(URL, 200, [("tdm-reservation", value)], b"")
    assert (signals.tdm_header.reservation == 1) is we_reserve
    datadiligence = pytest.importorskip("datadiligence.rules.http")
    assert datadiligence.TDMRepHeader()._eval_header_value(value) is (value.strip() != "1")


def test_datadiligence_vectors_match_their_code():
    datadiligence = pytest.importorskip("datadiligence.rules.http")
    for case in CASES:
        if case["header"] == "X-Robots-Tag":
            rule = datadiligence.XRobotsTagHeader(user_agent=case["crawler_user_agent"])
        else:
            rule = datadiligence.TDMRepHeader()
        assert rule._eval_header_value(case["header_value"]) is case["allowed"], case
