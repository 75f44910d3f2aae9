"""The parser entry points fuzzed by tests/hostile/test_fuzz_parsers.py and scripts/fuzz.sh.

Each target takes bytes and must never raise: parsers return findings for content they cannot
read (ARCHITECTURE.md, example 8). A target also asks its parse result the questions a caller
would (matching, group selection), since those run over the same hostile input.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reservation_crawler.signals import aitxt, robots
from reservation_crawler.signals.aipref import parse_content_usage
from reservation_crawler.signals.contentsignal import parse_content_signal
from reservation_crawler.signals.page import parse_page
from reservation_crawler.signals.tdmrep import parse_tdmrep_json
from reservation_crawler.signals.useragent import agent_token

DATA = Path(__file__).resolve().parents[1] / "data"
URLS = ("https://a.example/", "https://a.example/private/x?y=1", "https://a.example/%E2%82%AC$")
AGENTS = ("GPTBot", "*", "ccbot", "Unknown-Bot")


def fuzz_robots(data: bytes) -> None:
    for profile in ("rfc9309", "google"):
        parsed = robots.parse(data, profile=profile)
        parsed.findings  # noqa: B018 - computed lazily
        for agent in AGENTS:
            for url in URLS:
                parsed.explain(url, agent)
                parsed.content_usages(url, agent)
            parsed.content_signals(agent)
            parsed.crawl_delay(agent)


def fuzz_aitxt(data: bytes) -> None:
    for content_type in (None, "text/plain", "text/html"):
        parsed = aitxt.parse(data, content_type=content_type)
        for agent in AGENTS:
            for url in URLS:
                parsed.match(url, agent)


def fuzz_tdmrep(data: bytes) -> None:
    parsed = parse_tdmrep_json(data)
    for url in URLS:
        parsed.rule_for(url)


def fuzz_page(data: bytes) -> None:
    text = data.decode("latin-1")
    head, _, body = text.partition("\n\n")
    headers = [
        tuple(part.strip() for part in line.split(":", 1))
        for line in head.splitlines()
        if ":" in line
    ]
    for content_type in (None, "text/html", "text/html; charset=" + head[:20], "image/jpeg"):
        pairs = list(headers) + ([("Content-Type", content_type)] if content_type else [])
        page = parse_page(URLS[0], 200, pairs, body.encode("latin-1"))
        for agent in AGENTS:
            [d for d in page.robots_directives if d.applies_to(agent)]
            page.ai_reservations(agent)


def fuzz_header_values(data: bytes) -> None:
    value = data.decode("latin-1")
    parse_content_signal(value, location="header")
    parse_content_usage(value, location="header")
    agent_token(value)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "robots": fuzz_robots,
    "aitxt": fuzz_aitxt,
    "tdmrep": fuzz_tdmrep,
    "page": fuzz_page,
    "headers": fuzz_header_values,
}


def seeds(target: str, limit: int = 40) -> list[bytes]:
    """Real inputs from tests/data to mutate (the corpus-seeded part of the fuzzing)."""
    folders = {
        "robots": ["fixtureweb/robots"],
        "aitxt": ["aitxt/sites"],
        "tdmrep": ["tdmrep/sites", "tdmrep/spec"],
        "page": ["headers"],
        "headers": ["signals", "headers"],
    }[target]
    found: list[bytes] = []
    for folder in folders:
        for path in sorted((DATA / folder).rglob("*")):
            if path.is_file() and path.suffix not in (".md", ".tsv"):
                found.append(path.read_bytes()[:20_000])
    return found[:limit] or [b""]
