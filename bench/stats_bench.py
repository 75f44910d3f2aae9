"""Benchmark of ``reservation-crawler stats`` on synthetic crawl output.

Writes N synthetic ``reservation-record/1`` lines (seeded mix of signals, several pages per site,
decisions for ``*`` plus the registry's well-known agents) to a temporary JSON Lines file, then
runs ``python -m reservation_crawler.cli stats FILE --json`` in a child process and reports
wall time, records per second and the child's peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``).

    python bench/stats_bench.py                    # 1,000,000 records, 4 pages per site
    python bench/stats_bench.py --records 200000 --pages-per-site 1 --keep /tmp/records.jsonl
    python bench/stats_bench.py --group-by country --group-by region --group-by panel

``--group-by`` passes through to ``stats``; a column key (``panel``, ``rank_band``) makes the
benchmark write the input list beside the records (``origin,rank,panel,rank_band,country``) and
pass it with ``--targets`` and ``--country-column country``. Sites spread over a few ccTLDs and
generic TLDs, so ``country`` and ``region`` have groups to make.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PURPOSES = ("crawl", "train-ai", "ai-use", "search")
AI_USE = ("train-ai", "ai-use")

# Site archetypes and their weights (percent). Each names what the site publishes.
ARCHETYPES = (
    ("plain", 38),
    ("robots-block-ai", 25),
    ("robots-absent", 10),
    ("unreachable", 8),
    ("content-signal", 5),
    ("robots-star-disallow", 3),
    ("tdmrep-file", 2),
    ("aitxt", 2),
    ("noai", 2),
    ("tdmrep-header", 1),
    ("tdmrep-meta", 1),
    ("conflict", 3),
)
BLOCKED = ("GPTBot", "CCBot", "ClaudeBot", "Google-Extended", "Bytespider")
# Site i is under TLDS[i % len(TLDS)]; generic ones get a country from the input list.
# (stats --group-by country/region reads the ccTLD; panel and rank_band are --targets columns.)
TLDS = ("com", "de", "fr", "co.uk", "jp", "com.my", "sg", "in", "co.kr", "org", "io", "com.hk")
PANELS = ("news", "shopping", "government", "blogs")


def default_agents() -> list[str]:
    try:
        from reservation_crawler.signals.agents import well_known_agents
    except ImportError:
        return list(BLOCKED)
    return [a.token for a in well_known_agents()]


def source(url: str, outcome: str, status: int | None, ctype: str | None) -> dict[str, Any]:
    return {
        "url": url,
        "outcome": outcome,
        "status": status,
        "content_type": ctype,
        "size": 512 if outcome == "ok" else None,
        "sha256": "0" * 64 if outcome == "ok" else None,
        "error": "timeout" if outcome == "unreachable" else None,
        "redirects": [],
    }


def evidence(
    agent: str,
    purposes: tuple[str, ...],
    effect: str,
    signal: str,
    src: str,
    scope: str,
    raw: str,
    line: int | None,
    location: str,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "agent": agent,
        "purposes": list(purposes),
        "effect": effect,
        "signal": signal,
        "source": src,
        "scope": scope,
        "raw": raw,
    }
    if line is not None:
        item["line"] = line
    item["location"] = location
    return item


def make_record(origin: str, url: str, kind: str, agents: list[str]) -> dict[str, Any]:
    robots_url = origin + "/robots.txt"
    robots_outcome = {"unreachable": "unreachable", "robots-absent": "absent"}.get(kind, "ok")
    page_outcome = "not-fetched" if kind in ("unreachable", "robots-star-disallow") else "ok"
    sources = {
        "robots.txt": source(
            robots_url, robots_outcome, {"ok": 200, "absent": 404}.get(robots_outcome), "text/plain"
        ),
        "ai.txt": source(
            origin + "/ai.txt",
            "ok" if kind == "aitxt" else "absent",
            200 if kind == "aitxt" else 404,
            "text/plain",
        ),
        "tdmrep.json": source(
            origin + "/.well-known/tdmrep.json",
            "ok" if kind in ("tdmrep-file", "conflict") else "absent",
            200 if kind in ("tdmrep-file", "conflict") else 404,
            "application/json",
        ),
        "page": source(url, page_outcome, 200 if page_outcome == "ok" else None, "text/html"),
    }
    decisions: dict[str, dict[str, str]] = {}
    ev: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for agent in ["*", *agents]:
        rows: list[dict[str, Any]] = []
        if kind == "unreachable":
            rows.append(
                evidence(
                    agent,
                    PURPOSES,
                    "reserved",
                    "robots",
                    "robots.txt",
                    "*",
                    "timeout: robots.txt unreachable, complete disallow",
                    None,
                    robots_url,
                )
            )
        elif kind == "robots-star-disallow" or (
            kind in ("robots-block-ai", "conflict") and agent in BLOCKED
        ):
            scope = "*" if kind == "robots-star-disallow" else agent
            rows.append(
                evidence(
                    agent,
                    PURPOSES,
                    "reserved",
                    "robots",
                    "robots.txt",
                    scope,
                    "Disallow: /",
                    3,
                    robots_url,
                )
            )
        elif kind == "robots-absent":
            rows.append(
                evidence(
                    agent,
                    ("crawl",),
                    "allowed",
                    "robots",
                    "robots.txt",
                    "*",
                    "HTTP 404: no robots.txt",
                    None,
                    robots_url,
                )
            )
        else:
            rows.append(
                evidence(
                    agent,
                    ("crawl",),
                    "allowed",
                    "robots",
                    "robots.txt",
                    "*",
                    "no matching rule",
                    None,
                    robots_url,
                )
            )
            if kind == "content-signal":
                rows.append(
                    evidence(
                        agent,
                        ("train-ai",),
                        "reserved",
                        "content-signal",
                        "robots.txt",
                        "*",
                        "Content-Signal: ai-train=no, search=yes",
                        2,
                        robots_url,
                    )
                )
                rows.append(
                    evidence(
                        agent,
                        ("search",),
                        "allowed",
                        "content-signal",
                        "robots.txt",
                        "*",
                        "Content-Signal: ai-train=no, search=yes",
                        2,
                        robots_url,
                    )
                )
            elif kind == "aitxt":
                rows.append(
                    evidence(
                        agent,
                        ("train-ai",),
                        "reserved",
                        "ai.txt",
                        "ai.txt",
                        "*",
                        "Disallow: /",
                        4,
                        origin + "/ai.txt",
                    )
                )
            elif kind == "noai":
                rows.append(
                    evidence(
                        agent,
                        AI_USE,
                        "reserved",
                        "noai",
                        "meta",
                        "*",
                        "noai, noimageai",
                        None,
                        '<meta name="robots">',
                    )
                )
        if kind in ("tdmrep-file", "conflict"):
            value = 1 if kind == "tdmrep-file" else 0
            rows.append(
                evidence(
                    agent,
                    AI_USE,
                    "reserved" if value else "allowed",
                    "tdmrep",
                    "tdmrep.json",
                    "*",
                    json.dumps({"location": "/", "tdm-reservation": value}),
                    None,
                    origin + "/.well-known/tdmrep.json#/0",
                )
            )
        elif kind in ("tdmrep-header", "tdmrep-meta"):
            layer = kind.split("-")[1]
            rows.append(
                evidence(
                    agent,
                    AI_USE,
                    "reserved",
                    "tdmrep",
                    layer,
                    "*",
                    "tdm-reservation: 1",
                    None,
                    "tdm-reservation",
                )
            )
        cells = {}
        for purpose in PURPOSES:
            effects = {r["effect"] for r in rows if purpose in r["purposes"]}
            cells[purpose] = (
                "reserved"
                if "reserved" in effects
                else "allowed"
                if "allowed" in effects
                else "unspecified"
            )
        decisions[agent] = cells
        ev.extend(rows)
        for purpose in PURPOSES:
            effects = {r["effect"] for r in rows if purpose in r["purposes"]}
            if {"reserved", "allowed"} <= effects:
                findings.append(
                    {
                        "code": "decision.conflict",
                        "severity": "warning",
                        "source": "decision",
                        "location": agent,
                        "message": f"{agent}: {purpose} is reserved and allowed",
                    }
                )
    if kind == "unreachable":
        findings.append(
            {
                "code": "robots.unreachable",
                "severity": "error",
                "source": "robots.txt",
                "message": "robots.txt could not be fetched",
            }
        )
    return {
        "schema": "reservation-record/1",
        "url": url,
        "origin": origin,
        "fetched_at": "2026-11-22T10:00:00Z",
        "sources": sources,
        "decisions": decisions,
        "evidence": ev,
        "findings": findings,
    }


def origin_of(site: int) -> str:
    return f"https://site{site}.example.{TLDS[site % len(TLDS)]}"


def write_targets(path: Path, sites: int) -> None:
    """The input list of the benchmark's sites: a rank, a panel, a rank band, a country."""
    countries = ("US", "GB", "IN", "MY", "JP", "DE")
    with path.open("w", encoding="utf-8") as out:
        out.write("origin,rank,panel,rank_band,country\n")
        for site in range(1, sites + 1):
            band = f"top-{10 ** len(str(site))}"
            out.write(
                f"{origin_of(site)},{site},{PANELS[site % len(PANELS)]},{band},"
                f"{countries[site % len(countries)]}\n"
            )


def generate(path: Path, records: int, pages_per_site: int, agents: list[str], seed: int) -> int:
    """Write ``records`` lines; returns the number of sites."""
    rng = random.Random(seed)
    kinds = [k for k, _w in ARCHETYPES]
    weights = [w for _k, w in ARCHETYPES]
    written = 0
    site = 0
    with path.open("w", encoding="utf-8") as out:
        while written < records:
            site += 1
            origin = origin_of(site)
            kind = rng.choices(kinds, weights)[0]
            pages = 1 if kind == "unreachable" else pages_per_site
            for page in range(min(pages, records - written)):
                url = origin + "/" if page == 0 else f"{origin}/articles/{page}"
                out.write(json.dumps(make_record(origin, url, kind, agents)) + "\n")
                written += 1
    return site


def count_sites(path: Path) -> int:
    """The highest site number in the records (sites are numbered from 1, in order)."""
    last = 0
    with path.open("rb") as handle:
        for line in handle:
            start = line.find(b"https://site") + len(b"https://site")
            last = max(last, int(line[start : line.index(b".", start)]))
    return last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--pages-per-site", type=int, default=4)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--keep", type=Path, help="write the records here and keep them")
    parser.add_argument("--reuse", action="store_true", help="reuse --keep if it exists")
    parser.add_argument(
        "--group-by",
        action="append",
        default=[],
        metavar="KEY",
        help="pass --group-by KEY to stats (country, region, tld, panel, rank_band)",
    )
    args = parser.parse_args()
    agents = default_agents()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "records.jsonl"
        if not (args.reuse and path.exists()):
            started = time.perf_counter()
            sites = generate(path, args.records, args.pages_per_site, agents, args.seed)
            print(
                f"generated {args.records:,} records of ~{sites:,} sites "
                f"({path.stat().st_size / 2**20:,.0f} MiB, {len(agents) + 1} agents each) "
                f"in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
        command = [sys.executable, "-m", "reservation_crawler.cli", "stats", str(path), "--json"]
        for key in args.group_by:
            command += ["--group-by", key]
        if args.group_by:
            targets = path.with_suffix(".targets.csv")
            if not (args.reuse and targets.exists()):
                write_targets(targets, count_sites(path))
            command += ["--targets", str(targets), "--country-column", "country"]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.stderr.write(done.stderr.decode())
            return done.returncode
        report = json.loads(done.stdout)
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = {
            "records": report["records"]["read"],
            "sites_attempted": report["sites"]["attempted"],
            "sites_reached": report["sites"]["reached"],
            "seconds": round(elapsed, 1),
            "records_per_second": round(report["records"]["read"] / elapsed),
            "peak_rss_mib": round(peak_kib / 1024, 1),
            "group_by": args.group_by,
            "groups": {g["by"]: len(g["groups"]) for g in report.get("groups", ())},
            "input_mib": round(path.stat().st_size / 2**20),
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
