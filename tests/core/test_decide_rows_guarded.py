"""Rows of the decision table (docs/record.md) that mutation testing found unprotected (issue
#18): robots.txt not fetched, agent-scoped noai, TDMRep layer evidence, record bookkeeping."""

from __future__ import annotations

import re

from reservation_crawler.core.decide import decide, decide_agent, decide_in_full
from reservation_crawler.core.policy import OriginPolicy, PolicyFile
from reservation_crawler.drivers.fetch import FetchResult
from reservation_crawler.model.record import Decision, Outcome, Purpose, SourceOutcome
from reservation_crawler.model.registry import Registration, Status, make_target
from reservation_crawler.signals.page import parse_page

ORIGIN = "https://example.com"
R, A, U = Decision.RESERVED, Decision.ALLOWED, Decision.UNSPECIFIED
CRAWL, TRAIN, INPUT, SEARCH = Purpose.CRAWL, Purpose.TRAIN_AI, Purpose.AI_USE, Purpose.SEARCH
FETCHED_AT = "2026-11-22T00:00:00Z"


def fetched(path: str, body: str = "", status: int = 200, ctype: str = "text/plain"):
    url = ORIGIN + path
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        headers=(),
        body=body.encode(),
        content_type=ctype,
        error=None,
        error_detail=None,
        truncated=False,
        redirects=(),
        elapsed_ms=1.0,
    )


def policy(robots: str | None = None, tdmrep: str | None = None) -> OriginPolicy:
    def make(body: str | None, path: str, ctype: str):
        if body is None:
            return fetched(path, "not found", status=404, ctype="text/html")
        return fetched(path, body, ctype=ctype)

    return OriginPolicy.from_fetches(
        ORIGIN,
        FETCHED_AT,
        make(robots, "/robots.txt", "text/plain"),
        make(None, "/ai.txt", "text/plain"),
        make(tdmrep, "/.well-known/tdmrep.json", "application/json"),
    )


def not_fetched_policy() -> OriginPolicy:
    return OriginPolicy(
        ORIGIN,
        FETCHED_AT,
        PolicyFile.not_fetched(ORIGIN + "/robots.txt"),
        PolicyFile.not_fetched(ORIGIN + "/ai.txt"),
        PolicyFile.not_fetched(ORIGIN + "/.well-known/tdmrep.json"),
    )


def page(path: str = "/", headers: tuple[tuple[str, str], ...] = (), head: str = ""):
    body = f"<html><head><title>t</title>{head}</head><body>x</body></html>"
    all_headers = (("Content-Type", "text/html; charset=utf-8"), *headers)
    return parse_page(ORIGIN + path, 200, all_headers, body.encode())


def cells(record, agent: str) -> tuple[Decision, ...]:
    return tuple(record.decision(agent, p) for p in (CRAWL, TRAIN, INPUT, SEARCH))


def codes(record) -> list[str]:
    return [f.code for f in record.findings]


# -- robots.txt not fetched: it says nothing either way, the page's signals still count ---------


def test_rfc9309_robots_not_fetched_leaves_crawl_unspecified_and_page_signals_apply() -> None:
    signals = page(headers=(("Content-Signal", "ai-train=no, search=yes"),))
    record = decide(ORIGIN + "/", ["GPTBot"], not_fetched_policy(), signals)
    assert cells(record, "GPTBot") == (U, R, U, A)
    assert record.sources["robots.txt"].outcome is Outcome.NOT_FETCHED
    assert [e.signal for e in record.evidence_for("GPTBot", CRAWL)] == []
    assert (
        decide_agent(ORIGIN + "/", "GPTBot", not_fetched_policy(), signals).cells
        == (record.decisions["GPTBot"])
    )


def test_contentsignal_header_applies_only_where_robots_txt_allows_the_agent() -> None:
    signals = page("/private/a", headers=(("Content-Signal", "ai-train=yes"),))
    origin = policy(robots="User-agent: *\nDisallow: /private/\n")
    record = decide(ORIGIN + "/private/a", ["GPTBot"], origin, signals)
    assert cells(record, "GPTBot") == (R, R, R, R)
    assert [e.signal for e in record.evidence_for("GPTBot", TRAIN)] == ["robots"]


# -- noai: global, or for the agent; one for another agent hides nothing ------------------------


def test_lenient_noai_for_another_agent_does_not_hide_a_later_global_noai() -> None:
    signals = page(
        headers=(("X-Robots-Tag", "CCBot: noai"),),
        head='<meta name="robots" content="noai">',
    )
    record = decide(ORIGIN + "/", ["GPTBot", "CCBot"], policy(), signals)
    assert cells(record, "GPTBot") == (A, R, R, U)
    (train,) = record.evidence_for("GPTBot", TRAIN)
    assert (train.signal, train.scope, train.source) == ("noai", "*", "meta")
    assert cells(record, "CCBot") == (A, R, R, U)
    assert len(record.evidence_for("CCBot", TRAIN)) == 2


def test_lenient_noai_for_another_agent_alone_reserves_nothing_for_this_one() -> None:
    signals = page(headers=(("X-Robots-Tag", "CCBot: noai"),))
    record = decide(ORIGIN + "/", ["GPTBot", "CCBot"], policy(), signals)
    assert cells(record, "GPTBot") == (A, U, U, U)
    assert cells(record, "CCBot") == (A, R, R, U)


# -- TDMRep evidence says which layer decided ----------------------------------------------------

TDM_FILE = '[{"location": "/", "tdm-reservation": 1}]'


def test_tdmrep_file_layer_evidence_names_the_file_rule_when_a_header_adds_only_a_policy() -> None:
    signals = page(headers=(("tdm-policy", "https://example.com/policy.json"),))
    record = decide(ORIGIN + "/a", [], policy(tdmrep=TDM_FILE), signals)
    assert cells(record, "*")[1:3] == (R, R)
    (evidence,) = record.evidence_for("*", TRAIN)
    assert (evidence.signal, evidence.source, evidence.line) == ("tdmrep", "tdmrep.json", 1)
    assert evidence.location == ORIGIN + "/.well-known/tdmrep.json#/0"
    assert evidence.raw == '{"location": "/", "tdm-reservation": 1}'


def test_tdmrep_header_layer_overrides_the_file_and_the_evidence_says_header() -> None:
    signals = page(headers=(("tdm-reservation", "0"),))
    record = decide(ORIGIN + "/a", [], policy(tdmrep=TDM_FILE), signals)
    assert cells(record, "*")[1:3] == (A, A)
    (evidence,) = record.evidence_for("*", TRAIN)
    assert (evidence.source, evidence.raw, evidence.line) == ("header", "tdm-reservation: 0", None)
    assert "tdmrep.layer-override" in codes(record)


def test_tdmrep_meta_layer_evidence_says_meta() -> None:
    signals = page(head='<meta name="tdm-reservation" content="1">')
    record = decide(ORIGIN + "/a", [], policy(), signals)
    (evidence,) = record.evidence_for("*", TRAIN)
    assert (evidence.source, evidence.effect) == ("meta", R)


def test_tdmrep_file_policy_without_reservation_is_reported_without_a_page() -> None:
    origin = policy(tdmrep='[{"location": "/", "tdm-policy": "https://example.com/p.json"}]')
    record = decide(ORIGIN + "/a", [], origin)
    assert "tdmrep.policy-without-reservation" in codes(record)
    assert cells(record, "*")[1:3] == (U, U)


# -- the record's bookkeeping ---------------------------------------------------------------------


def test_record_page_not_fetched_only_when_there_is_no_page() -> None:
    origin = policy()
    assert "page.not-fetched" in codes(decide(ORIGIN + "/", [], origin))
    with_page = decide(ORIGIN + "/", [], origin, page())
    assert "page.not-fetched" not in codes(with_page)
    fetched_ok = SourceOutcome(url=ORIGIN + "/", outcome=Outcome.OK, status=200)
    no_signals = decide(ORIGIN + "/", [], origin, page_source=fetched_ok)
    assert "page.not-fetched" not in codes(no_signals)


def test_record_fetched_at_is_the_callers_time_else_the_policys() -> None:
    origin = policy()
    assert decide(ORIGIN + "/", [], origin).fetched_at == FETCHED_AT
    given = decide(ORIGIN + "/", [], origin, fetched_at="2026-12-01T10:00:00Z")
    assert given.fetched_at == "2026-12-01T10:00:00Z"


# -- evidence and findings wording, found by the mutation run ------------------------------------


def test_record_evidence_names_source_scope_and_location_of_each_row() -> None:
    robots_url = ORIGIN + "/robots.txt"
    allowed = decide(ORIGIN + "/a", [], policy(robots="User-agent: *\nAllow: /\n"))
    (crawl,) = allowed.evidence_for("*", CRAWL)
    assert (crawl.source, crawl.scope, crawl.location) == ("robots.txt", "*", robots_url)
    absent = decide(ORIGIN + "/a", [], policy())
    (crawl,) = absent.evidence_for("*", CRAWL)
    assert (crawl.source, crawl.location) == ("robots.txt", robots_url)
    assert crawl.raw == "HTTP 404: no robots.txt, everything may be crawled (RFC 9309 §2.3.1.3)"
    down = OriginPolicy.from_fetches(
        ORIGIN,
        FETCHED_AT,
        fetched("/robots.txt", "oops", status=503, ctype="text/html"),
        fetched("/ai.txt", "", status=404),
        fetched("/.well-known/tdmrep.json", "", status=404),
    )
    (crawl,) = decide(ORIGIN + "/a", [], down).evidence_for("*", CRAWL)
    assert (crawl.effect, crawl.source, crawl.location) == (R, "robots.txt", robots_url)
    assert crawl.raw.endswith("robots.txt unreachable, complete disallow (RFC 9309 §2.3.1.4)")
    signals = page(headers=(("Content-Usage", "train-ai=n"),))
    (usage,) = decide(ORIGIN + "/", ["GPTBot"], policy(), signals).evidence_for("GPTBot", TRAIN)
    assert (usage.signal, usage.source, usage.scope) == ("content-usage", "header", "*")


def test_decision_conflict_names_only_the_signals_of_that_purpose() -> None:
    signals = page(
        headers=(
            ("Content-Signal", "ai-train=no"),
            ("Content-Usage", "search=n, train-ai=y"),
            ("tdm-reservation", "0"),
        )
    )
    record = decide(ORIGIN + "/", ["GPTBot"], policy(), signals)
    conflicts = [(f.location, f.message) for f in record.findings if f.code == "decision.conflict"]
    assert (
        "GPTBot",
        "GPTBot: train-ai is reserved by content-signal but allowed by content-usage, tdmrep; "
        "the reservation wins",
    ) in conflicts


def test_record_without_any_time_is_stamped_now_in_seconds() -> None:
    origin = OriginPolicy(
        ORIGIN,
        "",
        PolicyFile.not_fetched(ORIGIN + "/robots.txt"),
        PolicyFile.not_fetched(ORIGIN + "/ai.txt"),
        PolicyFile.not_fetched(ORIGIN + "/.well-known/tdmrep.json"),
    )
    stamp = decide(ORIGIN + "/", [], origin).fetched_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), stamp


# -- found by the re-run on the 0.2 code (SEED=18) -------------------------------------------------


def registration(status: Status, agents: tuple[str, ...] = ("GPTBot",)) -> Registration:
    return Registration(
        id="r1",
        target=make_target("origin", ORIGIN),
        agents=agents,
        purposes=(TRAIN,),
        status=status,
        created_at=FETCHED_AT,
        updated_at=FETCHED_AT,
    )


def test_registry_claimed_registration_reserves_unless_told_it_is_evidence_only() -> None:
    """docs/registry.md: a claimed registration reserves its purposes by default, and is
    evidence with no effect under claimed_reserves=False; a verified one always reserves."""
    claimed = [registration(Status.CLAIMED)]
    for run in (decide, lambda *a, **k: decide_in_full(*a, **k).record):
        default = run(ORIGIN + "/a", ["GPTBot"], policy(), registry=claimed)
        assert default.decision("GPTBot", TRAIN) is R
        assert default.decision("*", TRAIN) is U  # it names GPTBot only
        off = run(ORIGIN + "/a", ["GPTBot"], policy(), registry=claimed, claimed_reserves=False)
        assert off.decision("GPTBot", TRAIN) is U
        (row,) = off.evidence_for("GPTBot", TRAIN)
        assert (row.signal, row.effect, row.scope, row.location) == (
            "registry",
            U,
            "GPTBot",
            "registry:r1",
        )
        assert [(f.code, f.location) for f in off.findings if f.source == "registry"] == [
            ("registry.claimed", "registry:r1")
        ]
        verified = [registration(Status.VERIFIED)]
        strict = run(ORIGIN + "/a", ["GPTBot"], policy(), registry=verified, claimed_reserves=False)
        assert strict.decision("GPTBot", TRAIN) is R


def test_decide_in_full_returns_the_record_of_decide_with_each_agents_decision() -> None:
    signals = page(headers=(("Content-Signal", "ai-train=no"), ("Content-Usage", "train-ai=y")))
    fetched_ok = SourceOutcome(url=ORIGIN + "/a", outcome=Outcome.OK, status=200)
    args = (ORIGIN + "/a", ["GPTBot"], policy(), signals)
    full = decide_in_full(*args, page_source=fetched_ok, fetched_at="2026-12-01T10:00:00Z")
    plain = decide(*args, page_source=fetched_ok, fetched_at="2026-12-01T10:00:00Z")
    assert full.record == plain
    assert full.record.fetched_at == "2026-12-01T10:00:00Z"
    assert full.record.sources["page"] is fetched_ok
    assert [verdict.agent for verdict in full.agents] == ["*", "GPTBot"]
    assert [c.purpose for c in full.agents[1].signal_conflicts()] == [TRAIN]
    assert full.agents[1].cells[TRAIN] is R
    assert full.layer_conflict is None
    no_page = decide_in_full(ORIGIN + "/a", [], policy(), page_source=fetched_ok)
    assert "page.not-fetched" not in codes(no_page.record)


def test_tdmrep_layers_that_disagree_are_a_layer_conflict_the_last_layer_wins() -> None:
    """TDMRep §4: the header overrides the file; validate shows both layers, in order."""
    signals = page(headers=(("tdm-reservation", "0"),))
    full = decide_in_full(ORIGIN + "/a", [], policy(tdmrep=TDM_FILE), signals)
    assert full.layer_conflict is not None
    assert [(e.source, e.effect, e.raw) for e in full.layer_conflict.layers] == [
        ("tdmrep.json", R, '{"location": "/", "tdm-reservation": 1}'),
        ("header", A, "tdm-reservation: 0"),
    ]
    assert full.layer_conflict.layers[0].location == ORIGIN + "/.well-known/tdmrep.json#/0"
    assert full.layer_conflict.winner.source == "header"
    agree = decide_in_full(
        ORIGIN + "/a", [], policy(tdmrep=TDM_FILE), page(headers=(("tdm-reservation", "1"),))
    )
    assert agree.layer_conflict is None


def test_record_evidence_scope_is_the_group_that_applied() -> None:
    """RFC 9309 §2.2.1: the group is the agent's own, or '*'; the evidence says which, for
    robots.txt (rule or no rule), its Content-Signal lines, and ai.txt."""
    robots = (
        "User-agent: GPTBot\nContent-Signal: ai-train=no\nAllow: /\n\nUser-agent: *\nAllow: /x\n"
    )
    origin = OriginPolicy.from_fetches(
        ORIGIN,
        FETCHED_AT,
        fetched("/robots.txt", robots),
        fetched("/ai.txt", "User-Agent: GPTBot\nDisallow: /\n"),
        fetched("/.well-known/tdmrep.json", "", status=404),
    )
    record = decide(ORIGIN + "/a", ["GPTBot"], origin)
    rows = {(e.signal, e.purposes): e for e in record.evidence if e.agent == "GPTBot"}
    assert rows["robots", (CRAWL,)].scope == "GPTBot"
    assert rows["content-signal", (TRAIN,)].scope == "GPTBot"
    assert rows["ai.txt", (TRAIN,)].scope == "GPTBot"
    assert rows["ai.txt", (TRAIN,)].raw == "Disallow: /"
    (star,) = record.evidence_for("*", CRAWL)
    assert (star.scope, star.raw, star.line) == ("*", "no matching rule", None)
    (absent,) = decide(ORIGIN + "/a", ["GPTBot"], policy()).evidence_for("GPTBot", CRAWL)
    assert absent.scope == "*"


# -- RSL licences (docs/rsl.md, RSL 1.0 §3.2, §4), media metadata, page-level rows ---------------

RSL_NS = 'xmlns="https://rslstandard.org/rsl"'
RSL_PROHIBITS_TRAIN = (
    f'<rsl {RSL_NS}><content url="/a/"><license>'
    '<prohibits type="usage">ai-train</prohibits></license></content></rsl>'
)
RSL_PERMITS_ALL = (
    f'<rsl {RSL_NS}><content url="/b/"><license>'
    '<permits type="usage">all</permits></license></content></rsl>'
)


def rsl_policy(robots: str, documents: dict[str, str]) -> OriginPolicy:
    return OriginPolicy.from_fetches(
        ORIGIN,
        FETCHED_AT,
        fetched("/robots.txt", robots),
        fetched("/ai.txt", "not found", status=404, ctype="text/html"),
        fetched("/.well-known/tdmrep.json", "not found", status=404, ctype="text/html"),
        others={
            f"rsl {ORIGIN}{path}": fetched(path, body, ctype="application/rsl+xml")
            for path, body in documents.items()
        },
    )


TWO_LICENCES = rsl_policy(
    f"User-agent: *\nAllow: /\nLicense: {ORIGIN}/a.xml\nLicense: {ORIGIN}/b.xml\n",
    {"/a.xml": RSL_PROHIBITS_TRAIN, "/b.xml": RSL_PERMITS_ALL},
)


def test_rsl_prohibition_counts_in_decide_agent_with_a_page() -> None:
    """RSL 1.0 §4: a licence named by a License: line applies to every URL its <content>
    names, whether or not the page itself was read: a page-level decision keeps the RSL row."""
    url = ORIGIN + "/a/x"
    with_page = decide_agent(url, "GPTBot", TWO_LICENCES, page("/a/x"))
    assert with_page.cells[TRAIN] is R
    record = decide(url, ["GPTBot"], TWO_LICENCES, page("/a/x"))
    assert dict(with_page.cells) == dict(record.decisions["GPTBot"])
    assert any(e.signal == "rsl" and e.effect is R for e in with_page.evidence)


def test_rsl_licences_of_two_documents_are_not_confused_by_the_memo() -> None:
    """Two License: documents, each with its first <content> matching a different path and the
    same robots.txt rule: the origin-level memo must tell the documents apart."""
    prohibited = decide_agent(ORIGIN + "/a/x", "GPTBot", TWO_LICENCES)
    permitted = decide_agent(ORIGIN + "/b/x", "GPTBot", TWO_LICENCES)
    assert (prohibited.cells[TRAIN], permitted.cells[TRAIN]) == (R, A)
    assert permitted.cells[SEARCH] is A


def test_rsl_row_raw_text_and_location_of_a_normative_licence() -> None:
    """The row says which <content> of which document, and what the licence says, with no
    'not applied' note when the document was named by a License: line (docs/rsl.md)."""
    record = decide(ORIGIN + "/a/x", ["GPTBot"], TWO_LICENCES)
    (row,) = {(e.source, e.effect, e.raw, e.location) for e in record.evidence if e.signal == "rsl"}
    assert row == (
        "rsl",
        R,
        '<content url="/a/">: licence 1 prohibits ai-train',
        ORIGIN + "/a.xml#content[1]",
    )


def test_page_source_not_fetched_names_the_url() -> None:
    """A decision without a page says the page was not fetched, and which page (docs/record.md
    sources)."""
    record = decide(ORIGIN + "/x?q=1", ["GPTBot"], policy("User-agent: *\nAllow: /\n"))
    source = record.sources["page"]
    assert (source.url, source.outcome) == (ORIGIN + "/x?q=1", Outcome.NOT_FETCHED)


def test_content_signal_header_row_raw_and_location() -> None:
    """Content-Signal as a response header (contentsignal.org): the row quotes the field by its
    name and says where it was read."""
    headers = (("Content-Signal", "ai-train=no"),)
    record = decide(
        ORIGIN + "/x", ["GPTBot"], policy("User-agent: *\nAllow: /\n"), page("/x", headers)
    )
    (row,) = [e for e in record.evidence_for("GPTBot", TRAIN) if e.signal == "content-signal"]
    assert (row.source, row.effect, row.raw, row.location) == (
        "header",
        R,
        "Content-Signal: ai-train=no",
        "header content-signal",
    )


def test_noimageai_scoped_to_the_agent_is_evidence_for_that_agent_only() -> None:
    """noimageai in <meta name="GPTBot"> on an HTML page reserves its images, not the page:
    evidence with effect unspecified for GPTBot, nothing for other agents."""
    head = '<meta name="GPTBot" content="noimageai">'
    record = decide(
        ORIGIN + "/", ["GPTBot", "CCBot"], policy("User-agent: *\nAllow: /\n"), page("/", head=head)
    )
    gpt = [e for e in record.evidence if e.agent == "GPTBot" and e.signal == "noimageai"]
    assert [(e.effect, e.source, e.location) for e in gpt] == [(U, "meta", 'meta name="GPTBot"')]
    assert not [e for e in record.evidence if e.agent != "GPTBot" and e.signal == "noimageai"]
    assert cells(record, "GPTBot") == (A, U, U, U)


def test_media_xmp_row_location_names_xmp() -> None:
    """IPTC Data Mining in an image's XMP: the row's location says XMP and the property."""
    from reservation_crawler.testing.media import jpeg_with_xmp, xmp_packet

    body = jpeg_with_xmp(xmp_packet("DMI-PROHIBITED-AIMLTRAINING"))
    image = parse_page(ORIGIN + "/i.jpg", 200, [("Content-Type", "image/jpeg")], body)
    record = decide(ORIGIN + "/i.jpg", [], policy("User-agent: *\nAllow: /\n"), image)
    (row,) = [e for e in record.evidence_for("*", TRAIN) if e.signal == "media"]
    assert row.source == "xmp" and row.effect is R
    assert re.fullmatch(re.escape(ORIGIN + "/i.jpg (XMP ") + r"[^)]+\)", row.location), row.location


def test_origin_level_reservation_by_robots_txt_is_final() -> None:
    """docs/checker.md, "Origin level, page level": a purpose reserved at the origin by a
    signal no page can override (robots.txt disallow) is final; an allowed one is not."""
    disallowed = decide_agent(ORIGIN + "/x", "GPTBot", policy("User-agent: GPTBot\nDisallow: /\n"))
    allowed = decide_agent(ORIGIN + "/x", "GPTBot", policy("User-agent: *\nAllow: /\n"))
    for purpose in (CRAWL, TRAIN, INPUT, SEARCH):
        assert disallowed.final(purpose) and not allowed.final(purpose)


def test_media_c2pa_row_location_names_c2pa() -> None:
    """A C2PA training-mining assertion: the row's location says C2PA and the entry."""
    from reservation_crawler.testing.media import c2pa_jpeg, training_mining

    body = c2pa_jpeg(
        training_mining("cawg.training-mining", {"cawg.ai_training": {"use": "notAllowed"}})
    )
    image = parse_page(ORIGIN + "/i.jpg", 200, [("Content-Type", "image/jpeg")], body)
    record = decide(ORIGIN + "/i.jpg", [], policy("User-agent: *\nAllow: /\n"), image)
    (row,) = [e for e in record.evidence_for("*", TRAIN) if e.signal == "media"]
    assert (row.source, row.effect, row.location) == (
        "c2pa",
        R,
        ORIGIN + "/i.jpg (C2PA cawg.ai_training)",
    )


def test_robots_content_signal_unknown_key_and_legacy_content_usage_rows() -> None:
    """An unknown Content-Signal key is kept verbatim as evidence deciding nothing; an earlier
    aipref draft's label (train-genai) is read where vocab-08 is silent: both rows name the
    robots.txt line they come from."""
    robots = "User-agent: *\nAllow: /\nContent-Signal: ai-train=no, bots=no\n"
    robots += "Content-Usage: train-genai=n\n"
    record = decide(ORIGIN + "/x", ["GPTBot"], policy(robots))
    rows = [e for e in record.evidence if e.agent == "GPTBot" and e.signal != "robots"]
    by_raw = {e.raw: e for e in rows}
    unknown = by_raw["bots=no"]
    assert (unknown.signal, unknown.purposes, unknown.effect, unknown.line) == (
        "content-signal",
        (),
        U,
        3,
    )
    legacy = by_raw["Content-Usage: train-genai=n"]
    assert (legacy.signal, legacy.source, legacy.purposes, legacy.effect, legacy.line) == (
        "content-usage-legacy",
        "robots.txt",
        (TRAIN,),
        R,
        4,
    )
    assert legacy.location == ORIGIN + "/robots.txt"
