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
from dataclasses import dataclass
from pathlib import Path

import pytest

from reservation_crawler.apps import stats_research as research
from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, RobotsCorpus
from reservation_crawler.testing.sites import KINDS, Recipe

STUDIES = Path(__file__).parent / "data" / "studies"
# scrape.py @ 9629e95 (January 2026): a site is "blocked" when one of these occurs in its
# lower-cased body...
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
# scrape.py @ 168b1f5 (January 2025) had not yet added these three.
BLOCKING_2025 = tuple(t for t in BLOCKING if t not in ("mistralai-user", "deepseek", "deepseekbot"))


@dataclass(frozen=True)
class Study:
    """One published snapshot: its folder, files, token lists and expected size."""

    folder: str
    month: str
    blocking: tuple[str, ...]
    sites: int  # sites in the reproduction (files kept, plus the ones it could not fetch)
    published: int  # sites in its verdicts file

    @property
    def directory(self) -> Path:
        return STUDIES / self.folder

    def verdicts(self) -> list[dict]:
        (path,) = self.directory.glob("verdicts-*.json")
        return json.loads(path.read_text(encoding="utf-8"))

    def headline_text(self) -> str:
        (path,) = self.directory.glob("headline-*.md")
        return path.read_text(encoding="utf-8")

    def body(self, domain: str) -> bytes | None:
        path = self.directory / "robots" / f"{domain}.robots.txt"
        return path.read_bytes() if path.exists() else None


JAN_2026 = Study("gptfirewall-2026-01", "2026-01", BLOCKING, 193, 209)
JAN_2025_PRESS = Study("gptfirewall-2025-01-press", "2025-01", BLOCKING_2025, 65, 66)
STATUS = {"✅": "passing", "🔐": "blocked", None: "unknown"}


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


@pytest.mark.parametrize("study", [JAN_2026, JAN_2025_PRESS], ids=lambda s: s.folder)
def test_their_headline_table_is_what_their_verdicts_say(study):
    """Our reading of their table, checked on every published site against their markdown."""
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
            study.headline_text(),
        )
    }
    verdicts = study.verdicts()
    assert len(verdicts) == study.published
    assert published == _headline(verdicts)
    if study is JAN_2026:
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


def crawl_study(study: Study, tmp: Path) -> tuple[list[dict], Path, Path]:
    """Serve the study's files on the fixture web and check every home page with its tokens.

    Returns the verdicts of the sites crawled, the records and the input list (CSV).
    """
    corpus = RobotsCorpus(study.directory / "robots")
    verdicts = []
    recipes = []
    for verdict in study.verdicts():
        if study.body(verdict["domain"]) is not None:
            # Every file is served as fetched, even when it is an HTML page.
            spec = {"corpus": f"{verdict['domain']}.robots.txt"}
            recipes.append(Recipe("corpus-robots", "any", {"robots": spec}))
        elif verdict["status"] is None:
            # No file: their request failed. Served as a 500, which nobody can read either.
            variant = KINDS["robots-5xx"].variants["500"]
            recipes.append(Recipe("robots-5xx", "500", variant(random.Random(0), None)))
        else:
            continue  # a file left out of the subset (over 16 KiB, SOURCE.md)
        verdicts.append(verdict)
    assert len(verdicts) == study.sites
    agents = [a for token in (*BLOCKING, *GENERAL) for a in ("--agent", token)]
    records, targets = tmp / f"{study.month}.jsonl", tmp / f"{study.month}.csv"
    with FixtureWeb.from_recipes(recipes, corpus=corpus, slow_delay=3.0) as web:
        homes = [web.url(i) for i in range(len(recipes))]
        argv = ["check", "--json", "--allow-private", "--timeout", "2", *agents, *homes]
        code, out, err = _run(argv)
        assert code == 0, err
        records.write_text(out, encoding="utf-8")
        with open(targets, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["origin", "domain", "category", "country"])
            for i, v in enumerate(verdicts):
                writer.writerow([web.base_url(i), v["domain"], v["category"], v["country"] or ""])
    return verdicts, records, targets


@pytest.fixture(scope="module", params=[JAN_2026, JAN_2025_PRESS], ids=lambda s: s.folder)
def reproduction(request, tmp_path_factory):
    """The study's files served and crawled; stats per site, category and country."""
    study = request.param
    verdicts, records, targets = crawl_study(study, tmp_path_factory.mktemp("study"))
    reports = {}
    for definition in ("home-page", "named-home-strict"):
        code, out, err = _run(
            [
                "stats",
                "--json",
                str(records),
                *("--targets", str(targets), "--country-column", "country"),
                *("--group-by", "domain", "--group-by", "category"),
                *("--definition", definition),
            ]
        )
        assert code == 0, err
        reports[definition] = json.loads(out)
    return study, verdicts, reports


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
    if b"_cf_chl_opt" in body.lower():
        return "challenge"  # Cloudflare's challenge page options object (docs/fetch.md)
    if re.search(rb"^\s*<", body) or b"<html" in body[:2048].lower():
        return "html-body"
    if any(token.encode() in v for v in values):
        return "part-of-a-longer-token"
    return "outside-user-agent-lines"


def test_per_site_named_groups_against_their_breakdown(reproduction):
    study, verdicts, reports = reproduction
    per_site = _per_site(reports["home-page"])
    classes: Counter[str] = Counter()
    agreements = 0
    for verdict in verdicts:
        body = study.body(verdict["domain"])
        ours_site = per_site[verdict["domain"]]
        for token in (*study.blocking, *GENERAL):
            row = ours_site[token]
            assert row["sites"] == 1
            ours = row["mentioned"]["count"] == 1
            if verdict["status"] is None:  # their request failed: no breakdown
                assert row["unknown"]["count"] == 1 and not ours
                continue
            theirs = bool(verdict["breakdown"][token])
            if ours == theirs:
                agreements += 1
                continue
            assert theirs and not ours, (verdict["domain"], token)  # never the other way round
            why = classify(body, token)
            assert why != "named", (verdict["domain"], token)  # a named group we missed: ours
            classes[why] += 1
    assert agreements > 0.95 * len(verdicts) * len(study.blocking + GENERAL)
    assert set(classes) <= {
        "part-of-a-longer-token",
        "outside-user-agent-lines",
        "html-body",
        "not-a-product-token",
    }
    assert classes["part-of-a-longer-token"] > 0  # omgili in omgilibot, deepseek in deepseekbot


def _site_status(row: dict[str, dict], blocking: tuple[str, ...]) -> str:
    if all(row[t]["unknown"]["count"] for t in blocking):
        return "unknown"
    return "blocked" if any(row[t]["mentioned"]["count"] for t in blocking) else "passing"


def test_headline_table_reproduced_and_every_difference_explained(reproduction):
    study, verdicts, reports = reproduction
    per_site = _per_site(reports["home-page"])
    ours = [
        dict(
            v,
            status={"blocked": "🔐", "passing": "✅", "unknown": None}[
                _site_status(per_site[v["domain"]], study.blocking)
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
    # Only "blocked" by a substring that names no group becomes "passing", and a challenge page
    # served as robots.txt, "passing" for them, is unknown for us; nothing else moves.
    assert {(a, b) for _d, a, b in moved} <= {("blocked", "passing"), ("passing", "unknown")}
    for domain, before, _after in moved:
        body = study.body(domain)
        if before == "passing":
            assert classify(body, "gptbot") == "challenge", domain
            continue
        found = [t for t in study.blocking if t.encode() in (body or b"").lower()]
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
    """An HTML page served as robots.txt: 'passing' for them. For us a challenge page is
    unknown under every definition (robots.txt unreachable, issue 16 item 2); another HTML page
    (an error page) is open by RFC 9309 and unknown under named-home-strict."""
    study, verdicts, reports = reproduction
    lenient = _per_site(reports["home-page"])
    strict = _per_site(reports["named-home-strict"])
    kinds = {v["domain"]: classify(study.body(v["domain"]), "gptbot") for v in verdicts}
    assert study is not JAN_2026 or Counter(kinds.values())["challenge"] == 5
    assert study is not JAN_2026 or Counter(kinds.values())["html-body"] == 11
    for verdict in verdicts:
        domain = verdict["domain"]
        lenient_status = _site_status(lenient[domain], study.blocking)
        strict_status = _site_status(strict[domain], study.blocking)
        if kinds[domain] in ("challenge", "html-body"):
            assert STATUS[verdict["status"]] == "passing"
            assert strict_status == "unknown"
            assert lenient_status == ("unknown" if kinds[domain] == "challenge" else "passing")
        else:
            assert strict_status == lenient_status


def test_country_of_cctld_sites_matches_their_flags(reproduction):
    _study, verdicts, _reports = reproduction
    checked = 0
    for verdict in verdicts:
        derived = research.country_of_origin("https://" + verdict["domain"])
        flag = research.normalize_country(verdict["country"] or "")
        if derived is not None and flag is not None:
            checked += 1
            assert derived == flag, verdict["domain"]
    assert checked > 10


def test_trend_over_their_two_januaries(tmp_path):
    """``stats trend`` over January 2025 and January 2026 (press sites): each agent's share of
    sites naming it equals theirs once the documented substring artifacts are taken out."""
    runs = []
    for study in (JAN_2025_PRESS, JAN_2026):
        verdicts, records, _targets = crawl_study(study, tmp_path)
        runs.append((study, [v for v in verdicts if v["category"] == "press"], records))
    # The 2026 snapshot covers every category: keep its press sites for a like-for-like trend.
    press_2026 = {v["domain"] for v in runs[1][1]}
    records_2026 = runs[1][2]
    with open(records_2026, encoding="utf-8") as handle:
        lines = handle.readlines()
    origins = [json.loads(line)["origin"] for line in lines]
    verdicts_2026 = [
        v
        for v in JAN_2026.verdicts()
        if JAN_2026.body(v["domain"]) is not None or v["status"] is None
    ]
    keep = {o for o, v in zip(origins, verdicts_2026, strict=True) if v["domain"] in press_2026}
    (tmp_path / "press-2026.jsonl").write_text(
        "".join(line for line, o in zip(lines, origins, strict=True) if o in keep),
        encoding="utf-8",
    )
    code, out, err = _run(
        [
            "stats",
            "trend",
            f"2025-01={runs[0][2]}",
            f"2026-01={tmp_path / 'press-2026.jsonl'}",
            *("--definition", "home-page", "--json", "--plot", str(tmp_path / "plots")),
        ]
    )
    assert code == 0, err
    trend = json.loads(out)
    assert [c["label"] for c in trend["crawls"]] == ["2025-01", "2026-01"]
    for (study, verdicts, _records), crawl in zip(runs, trend["crawls"], strict=True):
        assert crawl["sites"]["attempted"] == len(verdicts)
        rows = {a["agent"].casefold(): a for a in crawl["agents"]}
        for token in (*study.blocking, *GENERAL):
            theirs = sum(bool(v["breakdown"].get(token)) for v in verdicts)
            artifacts = sum(
                bool(v["breakdown"].get(token))
                and classify(study.body(v["domain"]), token) != "named"
                for v in verdicts
            )
            assert rows[token]["mentioned"]["count"] == theirs - artifacts, (study.month, token)
    gpt = [next(a for a in c["agents"] if a["agent"] == "GPTBot") for c in trend["crawls"]]
    assert gpt[1]["mentioned"]["count"] >= gpt[0]["mentioned"]["count"]  # their trend, too
    assert (tmp_path / "plots" / "trend-agents.png").exists()
