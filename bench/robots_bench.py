"""Throughput of reservation_crawler.signals.robots against other Python robots.txt parsers.

Run from the repository root:

    python bench/robots_bench.py            # the whole corpus (about 11,890 files)
    python bench/robots_bench.py --quick    # a 600-file sample

Two modes, on the real robots.txt files of ``../shared/corpus/robots/``:

- parse once: every file is parsed, then every (agent, URL) pair is checked against it. The
  first check of an agent pays for anything a parser computes lazily, as it would in a crawler.
- parse every time: each check parses the file again (the cost of a one-off question).

URLs are made per file from its own rules (so rules really match) plus a few common paths.
Times are CPU times of the process (``time.process_time``), per chunk of 40 files; every chunk
is timed in several rounds and its best round kept, parsers taking turns on each chunk, so that
background load affects them alike. Results are printed as checks per second and as
ratios to protego. Other parsers get the decoded text; ours gets the raw bytes (decoding is
part of its parse). "reservation_crawler explain" is the same engine answering through
``explain()``, which is what the decision layer calls for every URL.

Our compiled-rule caches are module-wide. The 600-file sample fits in them, so its later rounds
parse with warm caches; the whole corpus does not, which is the realistic case (most rules are
site-specific), so the full run is the reference.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import random
import sys
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import protego
import robotexclusionrulesparser
from robots import RobotsParser

from reservation_crawler.signals import robots as ours

# CPU time of this process: on a shared machine, time spent descheduled is not counted.
_clock = time.process_time
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "robots"
AGENTS = ("GPTBot", "Googlebot", "CCBot", "ClaudeBot")
COMMON_PATHS = (
    "/",
    "/index.html",
    "/search?q=robots",
    "/wp-admin/admin-ajax.php",
    "/user/login?destination=/node/1",
    "/images/photo.jpg",
    "/api/v1/items/123",
    "/blog/2024/05/a-long-article-title-about-something.html",
)


@dataclass(frozen=True, slots=True)
class Parser:
    name: str
    parse: Callable[[bytes, str], object]
    check: Callable[[object, str, str], bool]


def _urllib_parse(_data: bytes, text: str) -> urllib.robotparser.RobotFileParser:
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    return parser


def _rerp_parse(_data: bytes, text: str) -> robotexclusionrulesparser.RobotExclusionRulesParser:
    parser = robotexclusionrulesparser.RobotExclusionRulesParser()
    parser.parse(text)
    return parser


PARSERS = (
    Parser(
        "reservation_crawler",
        lambda data, _text: ours.parse(data),
        lambda p, url, agent: p.allowed(url, agent),
    ),
    Parser(
        "reservation_crawler explain",
        lambda data, _text: ours.parse(data),
        lambda p, url, agent: p.explain(url, agent).allowed,
    ),
    Parser(
        "protego 0.7",
        lambda _data, text: protego.Protego.parse(text),
        lambda p, url, agent: p.can_fetch(url, agent),
    ),
    Parser(
        "robotspy",
        lambda _data, text: RobotsParser.from_string(text),
        lambda p, url, agent: p.can_fetch(agent, url),
    ),
    Parser(
        "urllib.robotparser",
        _urllib_parse,
        lambda p, url, agent: p.can_fetch(agent, url),
    ),
    Parser(
        "robotexclusionrulesparser",
        _rerp_parse,
        lambda p, url, agent: p.is_allowed(agent, url),
    ),
)


def load_corpus(folder: Path, limit: int | None, seed: int) -> list[tuple[str, bytes, str]]:
    files = sorted(p for p in folder.iterdir() if "__" in p.name)
    if limit is not None and limit < len(files):
        files = sorted(random.Random(seed).sample(files, limit))
    return [
        (p.name, data, data.decode("utf-8", "replace")) for p in files for data in [p.read_bytes()]
    ]


def urls_for(data: bytes, rng: random.Random, per_file: int) -> list[str]:
    """Common paths plus paths built from the file's own rules, as absolute URLs."""
    candidates: list[str] = []
    for group in ours.parse(data).groups:
        for rule in group.rules:
            raw = rule.pattern.raw
            if not raw.startswith("/"):
                continue
            path = raw.rstrip("$").replace("*", "x")
            candidates.append(path)
            candidates.append(path.rstrip("/") + "/page.html?id=7")
    rng.shuffle(candidates)
    paths = list(COMMON_PATHS[: per_file // 2]) + candidates[: per_file - per_file // 2]
    paths += COMMON_PATHS[per_file // 2 :][: per_file - len(paths)]
    return ["https://www.example.com" + p for p in paths]


def time_parse_once(parser: Parser, chunk, work) -> tuple[float, float, int, int]:
    """(parse seconds, check seconds, checks, errors) for one chunk of files."""
    errors = 0
    parse = parser.parse
    start = _clock()
    parsed = []
    for _name, data, text in chunk:
        try:
            parsed.append(parse(data, text))
        except Exception:
            parsed.append(None)
            errors += 1
    parse_seconds = _clock() - start
    check = parser.check
    checks = 0
    start = _clock()
    for obj, urls in zip(parsed, work, strict=True):
        if obj is None:
            continue
        for agent in AGENTS:
            for url in urls:
                try:
                    check(obj, url, agent)
                except Exception:
                    errors += 1
                checks += 1
    return parse_seconds, _clock() - start, checks, errors


def time_parse_every_time(parser: Parser, chunk, work) -> tuple[float, int, int]:
    """(seconds, checks, errors): parse the file again for every check (2 per file)."""
    errors = 0
    checks = 0
    parse, check = parser.parse, parser.check
    start = _clock()
    for (_name, data, text), urls in zip(chunk, work, strict=True):
        for index, url in enumerate(urls[:2]):
            try:
                check(parse(data, text), url, AGENTS[index % len(AGENTS)])
            except Exception:
                errors += 1
            checks += 1
    return _clock() - start, checks, errors


def agreement(corpus, work) -> dict[str, float]:
    """Share of parse-once checks on which each parser gives our answer."""
    reference = []
    for _name, data, _text in corpus:
        reference.append(ours.parse(data))
    shares = {}
    for parser in PARSERS[2:]:
        same = total = 0
        for (_name, data, text), urls, ref in zip(corpus, work, reference, strict=True):
            try:
                obj = parser.parse(data, text)
            except Exception:
                continue
            for agent in AGENTS:
                for url in urls:
                    with contextlib.suppress(Exception):
                        same += parser.check(obj, url, agent) == ref.allowed(url, agent)
                    total += 1
        shares[parser.name] = same / total if total else 0.0
    return shares


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--quick", action="store_true", help="600-file sample, 3 rounds")
    options.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    options.add_argument("--files", type=int, default=None, help="sample this many files")
    options.add_argument("--rounds", type=int, default=None, help="repetitions (best kept)")
    options.add_argument("--urls", type=int, default=8, help="URLs per file")
    options.add_argument("--seed", type=int, default=9309)
    args = options.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"corpus folder not found: {args.corpus}", file=sys.stderr)
        return 2
    limit = args.files if args.files is not None else (600 if args.quick else None)
    rounds = args.rounds if args.rounds is not None else 3
    corpus = load_corpus(args.corpus, limit, args.seed)
    rng = random.Random(args.seed)
    work = [urls_for(data, rng, args.urls) for _name, data, _text in corpus]
    print(
        f"{len(corpus)} files, {sum(len(d) for _, d, _ in corpus):,} bytes; "
        f"{len(AGENTS)} agents x {args.urls} URLs per file; best of {rounds} rounds; "
        f"Python {platform.python_version()}, {platform.machine()}"
    )

    # Files are timed in chunks; each (parser, chunk) keeps its best round, and parsers take
    # turns on every chunk, so background load falls on all of them alike.
    size = 40
    chunks = [(corpus[i : i + size], work[i : i + size]) for i in range(0, len(corpus), size)]
    best_once: dict[tuple[str, int], list[float]] = {}
    best_every: dict[tuple[str, int], float] = {}
    counts: dict[str, list[int]] = {p.name: [0, 0, 0] for p in PARSERS}  # checks, every, errors
    for round_number in range(rounds):
        for number, (chunk, chunk_work) in enumerate(chunks):
            for parser in PARSERS:
                parse_s, check_s, checks, errors = time_parse_once(parser, chunk, chunk_work)
                every_s, every_checks, every_errors = time_parse_every_time(
                    parser, chunk, chunk_work
                )
                key = (parser.name, number)
                if round_number == 0:
                    counts[parser.name][0] += checks
                    counts[parser.name][1] += every_checks
                    counts[parser.name][2] += errors + every_errors
                    best_once[key] = [parse_s, check_s]
                    best_every[key] = every_s
                else:
                    best_once[key] = [
                        min(best_once[key][0], parse_s),
                        min(best_once[key][1], check_s),
                    ]
                    best_every[key] = min(best_every[key], every_s)
    once: dict[str, tuple[float, float, int, int]] = {}
    every: dict[str, tuple[float, int, int]] = {}
    for parser in PARSERS:
        name = parser.name
        parse_total = sum(best_once[(name, n)][0] for n in range(len(chunks)))
        check_total = sum(best_once[(name, n)][1] for n in range(len(chunks)))
        every_total = sum(best_every[(name, n)] for n in range(len(chunks)))
        once[name] = (parse_total, check_total, counts[name][0], counts[name][2])
        every[name] = (every_total, counts[name][1], counts[name][2])

    base_once = once["protego 0.7"][2] / once["protego 0.7"][1]
    base_every = every["protego 0.7"][1] / every["protego 0.7"][0]
    base_parse = len(corpus) / once["protego 0.7"][0]
    print()
    print("parse once, then check")
    print(f"{'parser':<30}{'files/s':>10}{'checks/s':>12}{'x protego':>11}{'errors':>8}")
    # errors: exceptions raised by a parser (its file or check is then skipped)
    for name, (parse_s, check_s, checks, errors) in once.items():
        rate = checks / check_s
        print(
            f"{name:<30}{len(corpus) / parse_s:>10,.0f}{rate:>12,.0f}"
            f"{rate / base_once:>10.2f}x{errors:>8}"
        )
    print(f"(files/s of parsing alone; protego {base_parse:,.0f} files/s)")
    print()
    print("parse for every check")
    print(f"{'parser':<30}{'checks/s':>22}{'x protego':>11}")
    for name, (seconds, checks, _errors) in every.items():
        rate = checks / seconds
        print(f"{name:<30}{rate:>22,.0f}{rate / base_every:>10.2f}x")
    print()
    print("same answer as reservation_crawler (parse-once checks)")
    for name, share in agreement(corpus, work).items():
        print(f"{name:<30}{share:>22.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
