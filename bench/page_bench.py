"""Page-level signals: reservation_crawler.signals.page (+ the decision) vs datadiligence 0.1.7.

datadiligence evaluates two response headers (X-Robots-Tag noai/noimageai and tdm-reservation)
per response; we read every page-level signal (those headers plus Content-Usage, Content-Signal,
TDMRep meta, meta robots, licence links) from the headers and the HTML <head>, then decide.
Workload: the 49 datadiligence header cases as responses, with a realistic ~60 KB HTML page.

    python bench/page_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from reservation_crawler.core.decide import decide
from reservation_crawler.core.policy import OriginPolicy
from reservation_crawler.drivers.fetch import FetchResult
from reservation_crawler.signals.page import parse_page

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "headers" / "datadiligence_header_cases.json"
ORIGIN = "https://example.com"
AGENT = "GPTBot"


def html_page(size: int = 60_000) -> bytes:
    head = (
        "<!doctype html><html><head><meta charset='utf-8'><title>An article</title>"
        + "".join(f"<meta name='description{i}' content='text {i}'>" for i in range(30))
        + "<link rel='stylesheet' href='/a.css'><script>var x = 1;</script>"
        + "<meta name='robots' content='index, follow'></head><body>"
    )
    body = "<p>" + "lorem ipsum dolor sit amet " * (size // 27) + "</p></body></html>"
    return (head + body).encode()


def responses() -> list[dict[str, str]]:
    cases = json.loads(CASES.read_text("utf-8"))["cases"]
    out = []
    for case in cases:
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if case["header_value"]:
            headers[case["header"]] = case["header_value"]
        out.append(headers)
    return out


def empty_policy() -> OriginPolicy:
    def missing(path: str) -> FetchResult:
        return FetchResult(
            ORIGIN + path, ORIGIN + path, 404, (), b"", "text/html", None, None, False, (), 1.0
        )

    return OriginPolicy.from_fetches(
        ORIGIN,
        "2026-11-22T00:00:00Z",
        missing("/robots.txt"),
        missing("/ai.txt"),
        missing("/.well-known/tdmrep.json"),
    )


def per_second(fn, items, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, time.process_time() - start)
    return len(items) / best if best else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=40, help="copies of the 49 cases")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # datadiligence logs a missing Spawning API key
    from datadiligence.rules import TDMRepHeader, XRobotsTagHeader

    items = responses() * args.repeat
    page = html_page()
    policy = empty_policy()
    xrobots, tdm = XRobotsTagHeader(user_agent=AGENT), TDMRepHeader()
    url = ORIGIN + "/article"

    def datadiligence_headers(headers: dict[str, str]) -> bool:
        return xrobots.is_allowed(headers=headers) and tdm.is_allowed(headers=headers)

    def ours_headers(headers: dict[str, str]) -> object:
        signals = parse_page(url, 200, headers, None)
        return decide(url, [AGENT], policy, signals, include_default=False)

    def ours_full(headers: dict[str, str]) -> object:
        signals = parse_page(url, 200, headers, page)
        return decide(url, [AGENT], policy, signals, include_default=False)

    rows = [
        ("datadiligence 0.1.7 (2 headers)", per_second(datadiligence_headers, items, args.rounds)),
        ("reservation_crawler, headers", per_second(ours_headers, items, args.rounds)),
        ("reservation_crawler, headers+<head>", per_second(ours_full, items, args.rounds)),
    ]
    base = rows[0][1]
    print(f"{len(items)} responses ({len(items) // args.repeat} distinct), best of {args.rounds}")
    print(f"{'evaluator':<40}{'responses/s':>14}{'x datadiligence':>18}")
    for name, rate in rows:
        print(f"{name:<40}{rate:>14,.0f}{rate / base:>17.2f}x")


if __name__ == "__main__":
    main()
