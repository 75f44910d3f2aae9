"""Reproducing a published study from its own inputs (issue 16 item 3).

The Great GPT Firewall (github.com/samber/the-great-gpt-firewall, MIT), January 2026: the
robots.txt files it fetched and its per-site verdicts (tests/data/studies/gptfirewall-2026-01,
SOURCE.md). The fixture web serves those files, ``check`` crawls the home pages, ``stats``
groups by site, category and country, and the result is compared with the study's per-site
breakdown and its headline table. Every disagreement must fall in a class documented in
docs/stats.md ("Reproducing published studies").
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from reservation_crawler.apps import stats_research as research
from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, RobotsCorpus
from reservation_crawler.testing.sites import KINDS, Recipe

STUDY = Path(__file__).parent / "data" / "studies" / "gptfirewall-2026-01"
# scrape.py @ 9629e95: a site is "blocked" when one of these occurs in its lower-cased body...
BLOCKING = (
    "gptbot",
    "chatgpt-user",
    "oai-searchbot",
    "google-extended",
    "applebot-extended",
    "anthropic-ai",
    "claudebot",
    "claude-web",
    "mistralai-user",
    "amazonbot",
    "cohere-ai",
    "perplexitybot",
    "ccbot",
    "facebookbot",
    "meta-externalagent",
    "ai2bot",
    "ai2bot-dolma",
    "diffbot",
    "pangubot",
    "petalbot",
    "timpibot",
    "youbot",
    "deepseek",
    "deepseekbot",
)
# ... and these are reported per site but do not make it "blocked".
GENERAL = ("omgilibot", "omgili", "webzio-extended", "bytespider")
STATUS = {"✅": "passing", "🔐": "blocked", None: "unknown"}


def _verdicts() -> list[dict]:
    return json.loads((STUDY / "verdicts-2026-01.json").read_text(encoding="utf-8"))


def _headline(verdicts: list[dict]) -> dict[str, dict[str, int]]:
    """Their table's rule (scrape.py generate_markdown): per category, rounded percentages."""
    table: dict[str, dict[str, int]] = {}
    for category in dict.fromkeys(v["category"] for v in verdicts):
        sites = [v for v in verdicts if v["category"] == category]
        counts = Counter(STATUS[v["status"]] for v in sites)
        table[category.capitalize()] = {
            "scanned": len(sites),
            **{k: round(counts[k] / len(sites) * 100) for k in ("passing", "blocked", "unknown")},
        }
    return table


def test_their_headline_table_is_what_their_verdicts_say():
    """Our reading of their table, checked on all 209 sites against their published markdown."""
    text = (STUDY / "headline-2026-01.md").read_text(encoding="utf-8")
    published = {
        m[0]: {
            "scanned": int(m[1]),
            "passing": int(m[2]),
            "blocked": int(m[3]),
            "unknown": int(m[4]),
        }
        for m in re.findall(
            r"### Category: (.+)\n\n- Scanned: (\d+)\n- ✅ Passing: (\d+) %\n"
            r"- 🔐 Blocked: (\d+) %\n- ❓ Unknown: (\d+) %",
            text,
        )
    }
    verdicts = _verdicts()
    assert len(verdicts) == 209
    assert published == _headline(verdicts)
    assert Counter(STATUS[v["status"]] for v in verdicts) == {
        "passing": 116,
        "blocked": 88,
        "unknown": 5,
    }


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _body(domain: str) -> bytes | None:
    path = STUDY / "robots" / f"{domain}.robots.txt"
    return path.read_bytes() if path.exists() else None


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    """The study's files served and crawled; stats per site, category and country."""
    tmp = tmp_path_factory.mktemp("study")
    corpus = RobotsCorpus(STUDY / "robots")
    names = {e.site: e.name for e in corpus.by_name.values()}
    verdicts = []
    recipes = []
    for verdict in _verdicts():
        body = _body(verdict["domain"])
        if body is not None:
            # Every file is served as fetched, even when it is an HTML page or not in the index.
            recipes.append(
                Recipe(
                    "corpus-robots",
                    "any",
                    {"robots": {"corpus": f"{verdict['domain']}.robots.txt"}},
                )
            )
        elif verdict["status"] is None:
            # No file: their request failed. Served as a 500, which nobody can read either.
            variant = KINDS["robots-5xx"].variants["500"]
            recipes.append(Recipe("robots-5xx", "500", variant(random.Random(0), None)))
        else:
            continue  # a file left out of the subset (over 16 KiB, SOURCE.md)
        verdicts.append(verdict)
    assert len(verdicts) == 193 and names
    agents = [a for token in (*BLOCKING, *GENERAL) for a in ("--agent", token)]
    with FixtureWeb.from_recipes(recipes, corpus=corpus, slow_delay=3.0) as web:
        homes = [web.url(i) for i in range(len(recipes))]
        code, out, err = _run(
            ["check", "--json", "--allow-private", "--timeout", "2", *agents, *homes]
        )
        assert code == 0, err
        (tmp / "records.jsonl").write_text(out, encoding="utf-8")
        with open(tmp / "targets.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["origin", "domain", "category", "country"])
            for i, v in enumerate(verdicts):
                writer.writerow([web.base_url(i), v["domain"], v["category"], v["country"] or ""])
    reports = {}
    for definition in ("home-page", "named-home-strict"):
        code, out, err = _run(
            [
                "stats",
                "--json",
                str(tmp / "records.jsonl"),
                *("--targets", str(tmp / "targets.csv"), "--country-column", "country"),
                *("--group-by", "domain", "--group-by", "category"),
                *("--definition", definition),
            ]
        )
        assert code == 0, err
        reports[definition] = json.loads(out)
    return verdicts, reports


def _per_site(report: dict) -> dict[str, dict[str, dict]]:
    by_domain = report["groups"][0]
    assert by_domain["by"] == "domain"
    return {
        g["group"]: {a["agent"].casefold(): a for a in g["agents"]} for g in by_domain["groups"]
    }


_GOOGLE_CUT = re.compile(rb"[a-z_-]*")
_USER_AGENT = re.compile(rb"^\s*user-agent\s*:\s*([^#\r\n]*)", re.IGNORECASE | re.MULTILINE)


def classify(body: bytes | None, token: str) -> str:
    """Why their substring test finds ``token`` where no group names it (docs/stats.md)."""
    if body is None:
        return "no-file"
    values = [m.strip().lower() for m in _USER_AGENT.findall(body)]
    wanted = token.encode()
    # The value itself, or Google's reading of a value that is no product token ("GPTBot/1.0"
    # -> "gptbot"): docs/robots.md, "User-agent values".
    if any(v == wanted or _GOOGLE_CUT.match(v).group(0) == wanted for v in values):
        return "named"  # a user-agent line names it: we must agree
    if any(v.split(b"/")[0].strip() == wanted for v in values):
        return "not-a-product-token"  # "ai2bot/v2.0": Google and we read "ai" (RFC 9309 §2.2.1)
    if re.search(rb"^\s*<", body) or b"<html" in body[:2048].lower():
        return "html-body"
    if any(token.encode() in v for v in values):
        return "part-of-a-longer-token"
    return "outside-user-agent-lines"


def test_per_site_named_groups_against_their_breakdown(reproduction):
    verdicts, reports = reproduction
    per_site = _per_site(reports["home-page"])
    classes: Counter[str] = Counter()
    agreements = 0
    for verdict in verdicts:
        body = _body(verdict["domain"])
        ours_site = per_site[verdict["domain"]]
        for token in (*BLOCKING, *GENERAL):
            row = ours_site[token]
            assert row["sites"] == 1
            ours = row["mentioned"]["count"] == 1
            theirs = bool(verdict["breakdown"].get(token))
            if verdict["status"] is None:
                assert row["unknown"]["count"] == 1 and not ours
                continue
            if ours == theirs:
                agreements += 1
                continue
            assert theirs and not ours, (verdict["domain"], token)  # never the other way round
            why = classify(body, token)
            assert why != "named", (verdict["domain"], token)  # a named group we missed: ours
            classes[why] += 1
    assert agreements > 0.95 * len(verdicts) * len(BLOCKING + GENERAL)
    assert set(classes) <= {
        "part-of-a-longer-token",
        "outside-user-agent-lines",
        "html-body",
        "not-a-product-token",
    }
    assert classes["part-of-a-longer-token"] > 0  # ai2bot in ai2bot-dolma, deepseek in deepseekbot


def _site_status(row: dict[str, dict]) -> str:
    if all(row[t]["unknown"]["count"] for t in BLOCKING):
        return "unknown"
    return "blocked" if any(row[t]["mentioned"]["count"] for t in BLOCKING) else "passing"


def test_headline_table_reproduced_and_every_difference_explained(reproduction):
    verdicts, reports = reproduction
    per_site = _per_site(reports["home-page"])
    ours = [
        dict(
            v,
            status={"blocked": "🔐", "passing": "✅", "unknown": None}[
                _site_status(per_site[v["domain"]])
            ],
        )
        for v in verdicts
    ]
    theirs_table = _headline(verdicts)
    ours_table = _headline(ours)
    assert set(ours_table) == set(theirs_table)
    moved = [
        (v["domain"], STATUS[v["status"]], STATUS[o["status"]])
        for v, o in zip(verdicts, ours, strict=True)
        if v["status"] != o["status"]
    ]
    # Only "blocked" by a substring that names no group becomes "passing"; nothing else moves.
    assert {(a, b) for _d, a, b in moved} <= {("blocked", "passing")}
    for domain, _a, _b in moved:
        body = _body(domain)
        found = [t for t in BLOCKING if t.encode() in (body or b"").lower()]
        assert found and all(classify(body, t) != "named" for t in found)
    # The category rows of stats agree with the per-site rows they are made of.
    categories = {g["group"]: g for g in reports["home-page"]["groups"][1]["groups"]}
    for verdict in verdicts:
        assert verdict["category"] in categories
    for name, group in categories.items():
        members = [v["domain"] for v in verdicts if v["category"] == name]
        gpt = next(a for a in group["agents"] if a["agent"] == "GPTBot")
        assert gpt["mentioned"]["count"] == sum(
            per_site[d]["gptbot"]["mentioned"]["count"] for d in members
        )
        assert group["sites"]["attempted"] == len(members)


def test_html_bodies_counted_as_passing_are_unknown_under_the_strict_definition(reproduction):
    """A challenge or error page served as robots.txt: 'passing' for them, unknown for us."""
    verdicts, reports = reproduction
    lenient = _per_site(reports["home-page"])
    strict = _per_site(reports["named-home-strict"])
    html = [v for v in verdicts if classify(_body(v["domain"]), "gptbot") == "html-body"]
    assert html
    for verdict in html:
        assert STATUS[verdict["status"]] == "passing"
        assert _site_status(lenient[verdict["domain"]]) == "passing"
        assert _site_status(strict[verdict["domain"]]) == "unknown"
    others = [v for v in verdicts if v not in html]
    for verdict in others:
        assert _site_status(strict[verdict["domain"]]) == _site_status(lenient[verdict["domain"]])


def test_country_of_cctld_sites_matches_their_flags(reproduction):
    verdicts, _reports = reproduction
    checked = 0
    for verdict in verdicts:
        derived = research.country_of_origin("https://" + verdict["domain"])
        flag = research.normalize_country(verdict["country"] or "")
        if derived is not None and flag is not None:
            checked += 1
            assert derived == flag, verdict["domain"]
    assert checked > 20
