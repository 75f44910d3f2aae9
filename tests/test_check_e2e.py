"""End to end: `reservation-crawler check --json` against the fixture web's ground truth.

One site of every fixture kind and variant (every row of the decision table, the conflicts and
the broken servers) is served on loopback; the records the CLI prints must agree with the
expectations the fixture derives from its recipes independently of decide().
"""

from __future__ import annotations

import json

import pytest

from reservation_crawler.cli import main
from reservation_crawler.testing import FixtureWeb, every_variant

AGENTS = ("GPTBot", "ClaudeBot", "CCBot")


@pytest.fixture(scope="module")
def web():
    # Responses delayed 3 s against a 1.5 s client timeout: the "timeout" sites time out, and a
    # loaded machine still answers the others in time.
    with FixtureWeb.from_recipes(every_variant(corpus=None), slow_delay=3.0, corpus=False) as w:
        yield w


@pytest.fixture(scope="module")
def checked(web, capsys_module):
    truths = [web.truth(i) for i in range(len(web.recipes))]
    urls = [url for truth in truths for url in truth["expected"]]
    argv = ["check", "--json", "--allow-private", "--timeout", "1.5", *urls]
    for agent in AGENTS:
        argv += ["--agent", agent]
    assert main(argv) == 0
    records = [json.loads(line) for line in capsys_module().splitlines() if line.strip()]
    return truths, {r["url"]: r for r in records}


@pytest.fixture(scope="module")
def capsys_module():
    """Module-scoped stdout capture (pytest's capsys is function-scoped)."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer.getvalue


def test_every_url_gets_one_record(checked):
    truths, records = checked
    urls = {url for truth in truths for url in truth["expected"]}
    assert set(records) == urls
    for record in records.values():
        assert record["schema"] == "reservation-record/1"
        assert set(record["decisions"]) == {"*", *AGENTS}


def test_decisions_match_ground_truth(checked):
    truths, records = checked
    mismatches = []
    asserted = 0
    for truth in truths:
        for url, per_agent in truth["expected"].items():
            got = records[url]["decisions"]
            for agent, cells in per_agent.items():
                for purpose, want in cells.items():
                    if want is None:
                        continue
                    asserted += 1
                    if got[agent][purpose] != want:
                        mismatches.append(
                            f"{truth['kind']}/{truth['variant']} {url} {agent} {purpose}: "
                            f"want {want}, got {got[agent][purpose]}"
                        )
    assert not mismatches, "\n".join(mismatches[:40])
    assert asserted > 5000  # the comparison really covers the table


def test_conflicts_match_ground_truth(checked):
    truths, records = checked
    for truth in truths:
        if truth["conflicts"] is None:
            continue
        want = {(c["url"], c["agent"], c["purpose"]) for c in truth["conflicts"]}
        got = set()
        for url in truth["expected"]:
            for f in records[url]["findings"]:
                if f["code"] == "decision.conflict":
                    agent, _, rest = f["message"].partition(": ")
                    got.add((url, agent, rest.split(" ", 1)[0]))
        got = {g for g in got if g[1] in ("*", *AGENTS)}
        assert got == want, f"{truth['kind']}/{truth['variant']}"


def test_every_decision_table_row_is_exercised(checked):
    _, records = checked
    signals = {
        (e["signal"], e["source"], e["effect"]) for r in records.values() for e in r["evidence"]
    }
    for row in [
        ("robots", "robots.txt", "reserved"),
        ("robots", "robots.txt", "allowed"),
        ("content-signal", "robots.txt", "reserved"),
        ("content-signal", "header", "allowed"),
        ("content-usage", "robots.txt", "reserved"),
        ("content-usage", "header", "reserved"),
        ("tdmrep", "tdmrep.json", "reserved"),
        ("tdmrep", "tdmrep.json", "allowed"),
        ("tdmrep", "header", "allowed"),
        ("tdmrep", "meta", "reserved"),
        ("ai.txt", "ai.txt", "reserved"),
        ("ai.txt", "ai.txt", "allowed"),
        ("noai", "meta", "reserved"),
        ("noai", "header", "reserved"),
        ("noimageai", "header", "reserved"),
    ]:
        assert row in signals, row


def test_broken_servers_become_findings_not_crashes(checked):
    _, records = checked
    codes = {f["code"] for r in records.values() for f in r["findings"]}
    for code in (
        "robots.unreachable",
        "robots.too-many-redirects",
        "fetch.failed",
        "fetch.decompression-bomb",
        "decision.conflict",
    ):
        assert code in codes, code


def test_access_outcomes_match_ground_truth(checked):
    """What the origin did (docs/fetch.md, "Access outcomes"): the robots.txt access of every
    site, and the page's wherever check fetched it, as the fixture's recipe says."""
    truths, records = checked
    mismatches = []
    pages_compared = 0
    for truth in truths:
        want = truth["sources"]["robots.txt"]["access"]
        for url in truth["expected"]:
            got = records[url]["sources"]["robots.txt"].get("access")
            if got != want:
                mismatches.append(f"{truth['kind']}/{truth['variant']} robots.txt: {got} != {want}")
        for page in truth["pages"]:
            source = records[page["url"]]["sources"]["page"]
            if source["outcome"] == "not-fetched":
                continue
            pages_compared += 1
            if source.get("access") != page["access"]:
                mismatches.append(
                    f"{truth['kind']}/{truth['variant']} {page['url']}: "
                    f"{source.get('access')} != {page['access']}"
                )
    assert not mismatches, "\n".join(mismatches[:40])
    kinds = {t["sources"]["robots.txt"]["access"] for t in truths}
    assert {"fetched", "refused", "challenge", "payment-required", "unreachable"} <= kinds
    assert pages_compared > 0


def test_a_challenge_page_as_robots_txt_is_unknown_not_allowed(web, checked):
    """A challenge served with 200 at /robots.txt is no robots.txt with no rules: the policy is
    unknown, complete disallow (RFC 9309 §2.3.1.4), with a robots.challenge finding."""
    truths, records = checked
    seen = set()
    for index in web.sites_of("access-challenge"):
        truth = truths[index]
        if truth["variant"].startswith("page-"):
            continue
        record = records[truth["origin"] + "/"]
        robots_source = record["sources"]["robots.txt"]
        assert robots_source["outcome"] == "unreachable", truth["variant"]
        assert robots_source["access"] == "challenge"
        seen.add(robots_source["access_rule"].split(":")[0])
        assert "robots.challenge" in {f["code"] for f in record["findings"]}
        for agent in ("*", *AGENTS):
            assert set(record["decisions"][agent].values()) == {"reserved"}, truth["variant"]
    assert seen == {"cloudflare", "datadome", "akamai"}


def test_payment_required_carries_the_price_and_the_licence_link(web, checked):
    truths, records = checked
    (index,) = web.sites_of("access-payment", "pages-402")
    truth = truths[index]
    page = records[truth["origin"] + "/a/1.html"]["sources"]["page"]
    assert page["access"] == "payment-required"
    assert page["price"] == "USD 0.01 (crawler-price)"
    assert page["license_url"] == truth["origin"] + "/license.xml"
    codes = {f["code"] for f in records[truth["origin"] + "/a/1.html"]["findings"]}
    assert "fetch.payment-required" in codes


def test_refused_to_our_crawler_only(web, checked):
    """The fixture refuses our User-Agent only: another client gets 200 (so "refused" is the
    origin's choice about us), and the record says refused."""
    import httpx

    truths, records = checked
    (index,) = web.sites_of("access-refused", "robots-403-our-ua")
    origin = truths[index]["origin"]
    assert records[origin + "/"]["sources"]["robots.txt"]["access"] == "refused"
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1")) as client:
        other = client.get(
            f"http://127.0.0.1:{web.port}/robots.txt",
            headers={"Host": web.host(index), "User-Agent": "curl/8"},
        )
        ours = client.get(
            f"http://127.0.0.1:{web.port}/robots.txt",
            headers={"Host": web.host(index), "User-Agent": "reservation-crawler/0.2"},
        )
    assert (other.status_code, ours.status_code) == (200, 403)


def test_a_challenge_page_instead_of_the_page_gives_no_page_signals(web, checked):
    truths, records = checked
    (index,) = web.sites_of("access-challenge", "page-cloudflare-200")
    record = records[truths[index]["origin"] + "/"]
    page = record["sources"]["page"]
    assert (page["status"], page["outcome"], page["access"]) == (200, "error", "challenge")
    assert "fetch.challenge" in {f["code"] for f in record["findings"]}
    assert not [e for e in record["evidence"] if e["source"] in ("header", "meta")]


# The issue #17 signals each show up where their site serves them (one (kind, variant, path,
# signal, source) each): the decisions above are checked against the truth; this checks the
# evidence names the signal and the location it was read from.
NEW_SIGNALS = (
    ("rsl", "robots-license", "/", "rsl", "rsl"),
    ("rsl", "paid-ai", "/a/1.html", "rsl", "rsl"),
    ("rsl", "rsl-xml-only", "/", "rsl", "rsl.xml"),
    ("media", "xmp-aiml", "/img/1.jpg", "media", "xmp"),
    ("media", "c2pa-cawg", "/img/1.jpg", "media", "c2pa"),
    ("aitxt-spawning", "well-known", "/", "ai.txt", "/.well-known/ai.txt"),
)


@pytest.mark.parametrize(("kind", "variant", "path", "signal", "source"), NEW_SIGNALS)
def test_new_signals_are_evidence(checked, web, kind, variant, path, signal, source):
    _truths, records = checked
    (index,) = [i for i, r in enumerate(web.recipes) if (r.kind, r.variant) == (kind, variant)]
    record = records[web.url(index, path)]
    assert {(e["signal"], e["source"]) for e in record["evidence"]} >= {(signal, source)}
