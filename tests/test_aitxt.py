"""Spawning ai.txt: dialect detection on real files, the generator's output, matching, findings."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reservation_crawler.model.findings import FindingSpec
from reservation_crawler.signals import aitxt
from reservation_crawler.signals.aitxt import DIALECTS, parse
from reservation_crawler.signals.patterns import normalize_url_path

DATA = Path(__file__).parent / "data" / "aitxt"
SITES = DATA / "sites"
# Files from repositories without a licence file are not copied into this repository; they are
# read from the shared corpus checked out beside it (CI has it). See tests/data/aitxt/SOURCES.md.
SHARED_SITES = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "aitxt" / "sites"
OPTIONS = json.loads((DATA / "spawning-wp-plugin__ai_txt_options.json").read_text("utf-8"))


def site(name: str) -> bytes:
    local = SITES / f"ghsite__{name}"
    path = local if local.exists() else SHARED_SITES / f"ghsite__{name}"
    if not path.exists():
        pytest.skip(
            f"{name} lives in the shared corpus, which is not present", allow_module_level=True
        )
    return path.read_bytes()


def codes(parsed: aitxt.AiTxt) -> list[str]:
    return [finding.code for finding in parsed.findings]


def line_of(text: str, wanted: str) -> int:
    """1-based number of the first line equal to ``wanted``."""
    lines = text.replace("\r\n", "\n").split("\n")
    return lines.index(wanted) + 1


# --- every real file gets the dialect a reader gives it ------------------------------------------
# Decided by reading each file (see docs/aitxt.md for the definitions):
# spawning: robots-style rules with the "# Spawning AI" header or the generator's shape
#   ("*.ext" patterns, or the block-all pair "Disallow: *" + "Disallow: /");
# robots: robots-style rules with at least one path rule, no Spawning marks;
# key-value: "Key: value" lines (Allow/Disallow with prose values included), no path rule;
# markdown: a document (headings, lists, prose) more than a list of fields.
EXPECTED_DIALECTS = {
    "12fdk.home-stories.12f.dk~public_ai.txt": "key-value",
    "ATCUSA.austincole-personal-site~public_ai.txt": "robots",  # group + many ad-hoc keys
    "AbdirahmanNomad.abdirahman.net~public_ai.txt": "markdown",  # [sections], lists, ## headings
    "Above-Security.insider-risk-index~public_ai.txt": "markdown",
    "AlexKovax.site-evasion-konigstein-astro~public_ai.txt": "markdown",
    "Aziraphal.judgemyjpeg~public_ai.txt": "key-value",  # Key: value with YAML-ish lists
    "BekahHW.BekahHW.github.io~well-known_ai.txt": "markdown",  # prose and lists after a header
    "Chemaclass.chemaclass.com~static_.well-known_ai.txt": "robots",
    "DearDhruv.deardhruv.com~static_ai.txt": "key-value",  # "Permissions:" + YAML list
    "GeopJr.geopjr.dev~static_ai.txt": "spawning",  # generator output without the header
    "Hyperpolymath.well-known-ecosystem~examples_.well-known_ai.txt": "key-value",
    "Kalvincare.kalvincare.github.io~well-known_ai.txt": "key-value",  # Allow: <prose>
    "LunNova.Blog~static_ai.txt": "spawning",
    "MLTSHP.mltshp~static_ai.txt": "spawning",
    "OR13.vibeslop.ceo~public_ai.txt": "robots",
    "TheAmritpal.me~well-known_ai.txt": "robots",
    "TylerPreisser.preisser-solutions~public_ai.txt": "robots",
    "arichtman.www.richtman.au~static_ai.txt": "spawning",
    "ashwingopalsamy.site~static_ai.txt": "key-value",  # Allow-training: /
    "avelino.avelino.run~static_ai.txt": "markdown",
    "bahlo.arne.me~static_ai.txt": "spawning",  # the block-all pair, no header
    "douglops.blog~static_ai.txt": "robots",
    "hacdias.hacdias.com~static_ai.txt": "spawning",
    "healsdata.ai-training-opt-out~ai.txt": "spawning",
    "healsdata.jon.camp~static_ai.txt": "spawning",
    "jliikala.juhaliikalacom-fediverse-edition~static_ai.txt": "spawning",
    "jsdosanj.ledger~ai.txt": "markdown",  # ## headings and prose paragraphs
    "koji.blog~public_ai.txt": "key-value",  # User-Agent then Disallow-Training: yes ...
    "moxiespirit.oathscore~public_ai.txt": "key-value",
    "patoarchitekci.patoarchitekci.github.io~static_ai.txt": "robots",  # "Disallow: *" alone
    "raskell-io.www.raskell.io~static_ai.txt": "key-value",  # Allow: AI training and indexing
    "shalzz.shalzz.github.io~static_ai.txt": "key-value",
    "tari.taricorp.net~static_ai.txt": "spawning",  # the block-all pair, no header
    "thatmlopsguy.thatmlopsguy.github.io~static_ai.txt": "spawning",
    "vedangvatsa.vedang-website~public_ai.txt": "key-value",  # Allow: Training ...
    "wickedlyethan.wickedlyethan.github.io~static_ai.txt": "spawning",
}


def test_every_site_file_has_an_expectation():
    if not SHARED_SITES.is_dir():
        pytest.skip("shared corpus not present")
    on_disk = {p.name.removeprefix("ghsite__") for p in (*SITES.iterdir(), *SHARED_SITES.iterdir())}
    assert on_disk == set(EXPECTED_DIALECTS)


@pytest.mark.parametrize("name", sorted(EXPECTED_DIALECTS))
def test_real_file_dialect(name):
    parsed = parse(site(name))
    assert parsed.dialect == EXPECTED_DIALECTS[name]
    assert parsed.interpretable == (parsed.dialect in ("spawning", "robots"))


@pytest.mark.parametrize(
    "name", sorted(n for n, d in EXPECTED_DIALECTS.items() if d not in ("spawning", "robots"))
)
def test_other_dialects_are_never_permissions(name):
    parsed = parse(site(name))
    assert parsed.groups == ()
    for url in ("/", "/a.jpg", "/blog/post.html"):
        for agent in ("*", "GPTBot", "CCBot"):
            assert parsed.match(url, agent) is None
    # exactly one finding says why the file is not read
    assert len(parsed.findings) == 1
    assert parsed.findings[0].code == f"aitxt.{parsed.dialect}-dialect"


def test_readme_example_blocks_everything():
    parsed = parse((DATA / "ai-robots-txt-readme__spawning-example-ai.txt").read_bytes())
    assert parsed.dialect == "spawning"
    for url in ("/", "/a.jpg", "/x.mp3", "/page.html"):
        match = parsed.match(url, "AnyBot")
        assert match is not None and not match.allowed and match.agent_group == "*"


# --- Spawning's own generator (spawning-wp-plugin form-handler.php) ------------------------------


def spawning_generate(allowed: set[str]) -> str:
    """``spawning_construct_file_content``: the checked media categories are allowed."""
    content = OPTIONS["pre"] + "/\n" + OPTIONS["userAgent"] + "/\n"
    global_setting = OPTIONS["disallow"] + "/\n"
    if not allowed:
        content += OPTIONS["globalDisallow"]
    else:
        for option in OPTIONS["options"]:
            verb = OPTIONS["allow"] if option["label"] in allowed else OPTIONS["disallow"]
            for value in (v.strip() for v in option["value"].split(",")):
                content += verb + value + "\n"
            if option["label"] in allowed and option["globalFlag"]:
                global_setting = OPTIONS["allow"] + "/\n"
        content += global_setting
    return content + OPTIONS["post"]


CATEGORIES = [option["label"] for option in OPTIONS["options"]]
# One URL per category whose extension belongs to that category only.
REPRESENTATIVE = {
    "Images": "/media/a.jpg",
    "Audio": "/x.mp3",
    "Video": "/clips/v.mp4",
    "Text": "/page.html",
    "Code": "/src/app.py",
}
ALLOWED_SETS = [
    set(combo)
    for n in range(len(CATEGORIES) + 1)
    for combo in itertools.combinations(CATEGORIES, n)
]


@pytest.mark.parametrize("allowed", ALLOWED_SETS, ids=lambda s: "+".join(sorted(s)) or "none")
def test_spawning_generator_output(allowed):
    text = spawning_generate(allowed)
    parsed = parse(text)
    assert parsed.dialect == "spawning"
    # the two "/" lines the plugin writes are tolerated, and reported
    assert [f.line for f in parsed.findings if f.code == "aitxt.stray-slash-line"] == [2, 5]
    assert set(codes(parsed)) == {"aitxt.stray-slash-line"}
    for category, url in REPRESENTATIVE.items():
        match = parsed.match(url, "GPTBot")
        assert match is not None
        assert match.allowed == (category in allowed), (category, url)
        extension = url.rsplit(".", 1)[1]
        if allowed:  # one rule per extension decides, not the catch-all
            verb = "Allow" if category in allowed else "Disallow"
            assert match.line == line_of(text, f"{verb}: *.{extension}")
    # no extension: "Text" carries the site-wide rule (its globalFlag)
    plain = parsed.match("/about/team", "GPTBot")
    assert plain is not None and plain.allowed == ("Text" in allowed)


@pytest.mark.parametrize(
    ("body", "dialect"),
    [
        ("User-agent: *\nDisallow: *.jpg\n", "spawning"),  # the generator's extension shape
        ("User-agent: *\nAllow: *.mp3\nDisallow: /private/\n", "spawning"),
        ("User-agent: *\nDisallow: *\nDisallow: /\n", "spawning"),  # its block-all pair
        ("User-agent: *\nAllow: /\nAllow: *\n", "spawning"),
        ("# spawning ai - generated\nUser-agent: *\nDisallow: /x\n", "spawning"),  # header
        ("User-agent: *\nDisallow: *\n", "robots"),  # "*" alone is not the generator's
        ("User-agent: *\nDisallow: /*.jpg$\n", "robots"),
        ("User-agent: *\nDisallow: *.jpg.bak/x\n", "robots"),
        ("# Made with Spawning's help\nUser-agent: *\nDisallow: /\n", "robots"),
    ],
)
def test_spawning_dialect_marks(body, dialect):
    assert parse(body).dialect == dialect


def test_spawning_block_all_lines():
    text = spawning_generate(set())
    parsed = parse(text)
    match = parsed.match("/a.jpg", "CCBot")
    # "Disallow: *" and "Disallow: /" have the same length: the first in the file is reported
    assert match is not None and not match.allowed
    assert match.line == line_of(text, "Disallow: *")


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [({"Video"}, True), ({"Code"}, True), ({"Video", "Code"}, True), ({"Images"}, False)],
)
def test_rfc9309_equal_length_allow_wins(allowed, expected):
    # "*.ts" is both a Video and a Code extension: one category allowed gives Allow and
    # Disallow: *.ts, equally long, and allow wins the tie.
    parsed = parse(spawning_generate(allowed))
    match = parsed.match("/stream/seg1.ts", "*")
    assert match is not None and match.allowed is expected


# --- matching: our reading of patterns without a leading slash -----------------------------------

IMAGES_ONLY = "User-agent: *\nAllow: *.jpg\nDisallow: *.html\nDisallow: /\n"


def test_lenient_extension_pattern_matches_anywhere():
    parsed = parse(IMAGES_ONLY)
    for url in ("/a.jpg", "/deep/dir/a.jpg", "https://example.com/x/y.jpg", "/a.jpg?w=100"):
        match = parsed.match(url, "GPTBot")
        assert match is not None and match.allowed and match.line == 2, url


def test_lenient_extension_pattern_is_a_substring_not_an_extension():
    # Literal reading: "*.jpg" matches any path containing ".jpg", also "/x.jpg.html" and
    # "/a.jpgfoo"; a longer rule still wins.
    parsed = parse(IMAGES_ONLY)
    assert parsed.match("/a.jpgfoo", "*").line == 2
    assert parsed.match("/x.jpg.html", "*").line == 3  # "*.html" (6) beats "*.jpg" (5)
    assert parsed.match("/photo.jpeg", "*").line == 4  # ".jpeg" does not contain ".jpg"
    anchored = parse("User-agent: *\nDisallow: *.jpg$\n")
    assert anchored.match("/x.jpg", "*") is not None
    assert anchored.match("/x.jpg.html", "*") is None
    assert anchored.match("/x.jpg?w=1", "*") is None


def test_lenient_star_alone_matches_everything():
    parsed = parse("User-agent: *\nDisallow: *\n")
    for url in ("/", "/a", "/a.jpg?x=1"):
        assert parsed.match(url, "*").allowed is False


def test_rfc9309_longest_match_wins():
    parsed = parse("User-agent: *\nDisallow: /\nAllow: /public/\nDisallow: /public/secret\n")
    assert parsed.match("/private", "x").allowed is False
    assert parsed.match("/public/page", "x").allowed is True
    assert parsed.match("/public/secret/1", "x").allowed is False


def test_rfc9309_no_matching_rule_is_none():
    parsed = parse("User-agent: *\nDisallow: /private/\n")
    assert parsed.match("/public", "GPTBot") is None


def test_rfc9309_empty_disallow_matches_nothing():
    parsed = parse("User-agent: *\nDisallow:\n")
    assert parsed.dialect == "robots"
    assert parsed.match("/anything", "*") is None


def test_rfc9309_url_normalization():
    parsed = parse("User-agent: *\nDisallow: /caf%C3%A9/\n")
    assert parsed.match("https://example.com/café/menu", "*").allowed is False
    parsed = parse("User-agent: *\nDisallow: /%7Euser/\n")
    assert parsed.match("/~user/page", "*").allowed is False


# --- group selection -----------------------------------------------------------------------------

AMRITPAL = "TheAmritpal.me~well-known_ai.txt"


def test_rfc9309_group_selection_case_insensitive():
    parsed = parse(site(AMRITPAL))
    match = parsed.match("/", "anthropic-ai")  # the file writes "Anthropic-AI"
    assert match is not None and match.allowed and match.agent_group == "Anthropic-AI"
    assert parsed.match("/", "GPTBOT").agent_group == "GPTBot"
    assert parsed.match("/", "SomeOtherBot").agent_group == "*"


def test_rfc9309_specific_group_replaces_star():
    parsed = parse("User-agent: *\nDisallow: /\n\nUser-agent: GPTBot\nDisallow: /private/\n")
    assert parsed.match("/public", "GPTBot") is None  # the * rules do not apply to GPTBot
    assert parsed.match("/public", "CCBot").allowed is False
    assert parsed.agent_group("gptbot") == "GPTBot"


def test_rfc9309_groups_of_one_agent_are_merged():
    parsed = parse(
        "User-agent: GPTBot\nDisallow: /a\n\nUser-agent: CCBot\nUser-agent: gptbot\nDisallow: /b\n"
    )
    assert parsed.match("/a", "GPTBot").line == 2
    assert parsed.match("/b", "GPTBot").line == 6
    assert parsed.match("/b", "CCBot").line == 6
    assert parsed.match("/a", "CCBot") is None


def test_rfc9309_no_group_no_star_is_none():
    parsed = parse("User-agent: GPTBot\nDisallow: /\n")
    assert parsed.match("/", "CCBot") is None
    assert parsed.agent_group("CCBot") is None


def test_rfc9309_other_records_do_not_end_a_group():
    parsed = parse(
        "User-agent: GPTBot\nSitemap: https://e.x/s.xml\nUser-agent: CCBot\nDisallow: /\n"
    )
    assert parsed.match("/", "GPTBot").allowed is False
    assert parsed.match("/", "CCBot").allowed is False


def test_lenient_versioned_user_agent_and_query():
    parsed = parse("User-agent: GPTBot/1.0\nDisallow: /\n")
    assert parsed.match("/", "GPTBot").agent_group == "GPTBot/1.0"
    assert parsed.match("/", "gptbot/1.2").allowed is False


def test_lenient_invalid_tokens_read_like_robots_txt():
    # As robots.py: the whole value, then its leading letters/-/_ (Google's reading).
    parsed = parse("User-agent: Brightbot 1.0\nUser-agent: AI2Bot\nDisallow: /\n")
    assert parsed.match("/", "Brightbot").agent_group == "Brightbot 1.0"
    assert parsed.match("/", "brightbot 1.0").allowed is False
    assert parsed.match("/", "AI2Bot").agent_group == "AI2Bot"
    assert parsed.match("/", "AI") is not None  # Google reads "AI2Bot" as "AI"
    assert parsed.match("/", "Bot") is None
    assert parse("User-agent: *bots\nDisallow: /\n").match("/", "x").agent_group == "*bots"


def test_empty_agent_means_star():
    parsed = parse("User-agent: *\nDisallow: /x\n")
    assert parsed.match("/x", "").agent_group == "*"


def test_user_agent_without_value_names_no_one():
    parsed = parse("User-agent:\nDisallow: /\n")
    assert parsed.match("/", "*") is None


# --- real robots-style files ---------------------------------------------------------------------


def test_real_robots_style_rules_and_noise():
    parsed = parse(site("ATCUSA.austincole-personal-site~public_ai.txt"))
    assert parsed.match("/resumes/jane.html", "GPTBot").allowed is False
    assert parsed.match("/files/cv.pdf", "GPTBot").raw == "Disallow: /*.pdf$"
    assert parsed.match("/files/cv.pdf?dl=1", "GPTBot") is None  # "$" anchors the end
    assert parsed.match("/blog/", "GPTBot") is None
    # the ad-hoc "ai-training: disallowed" lines are reported, not read
    unknown = [f for f in parsed.findings if f.code == "aitxt.unknown-directive"]
    text = site("ATCUSA.austincole-personal-site~public_ai.txt").decode()
    assert unknown[0].line == line_of(text, "ai-usage-restriction: true")


def test_real_spawning_without_header():
    parsed = parse(site("hacdias.hacdias.com~static_ai.txt"))
    match = parsed.match("/img/a.png", "ClaudeBot")
    assert match is not None and not match.allowed and match.raw == "Disallow: *.png"


def test_real_spawning_allow_all():
    parsed = parse(site("LunNova.Blog~static_ai.txt"))
    for url in ("/", "/a.jpg", "/post.html", "/x.unknownext"):
        assert parsed.match(url, "CCBot").allowed is True


def test_real_crlf_file():
    parsed = parse(site("healsdata.jon.camp~static_ai.txt"))
    match = parsed.match("/song.mp3", "*")
    assert match is not None and match.raw == "Disallow: *.mp3" and not match.allowed


# --- line endings, encodings, content types ------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_rfc9309_line_endings(newline):
    parsed = parse(newline.join(["# Spawning AI", "User-Agent: *", "Disallow: /"]))
    assert parsed.dialect == "spawning"
    assert parsed.match("/", "*").line == 3


def test_lenient_bom_and_latin1_bytes():
    parsed = parse(b"\xef\xbb\xbfUser-Agent: *\n# caf\xe9\nDisallow: /\n")
    assert parsed.dialect == "robots"
    assert parsed.match("/", "*").line == 3


@pytest.mark.parametrize(
    "content_type", ["text/html", "text/html; charset=utf-8", "application/xhtml+xml", "TEXT/HTML"]
)
def test_html_content_type_is_never_read(content_type):
    # A server that labels /ai.txt as HTML is answering with a page; we do not read it even
    # when the body looks like rules (docs/aitxt.md).
    parsed = parse("User-Agent: *\nDisallow: /\n", content_type=content_type)
    assert parsed.dialect == "html" and not parsed.interpretable
    assert parsed.match("/", "*") is None
    assert codes(parsed) == ["aitxt.html-content"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain; charset=utf-8"])
def test_plain_content_type_is_read(content_type):
    assert parse("User-Agent: *\nDisallow: /\n", content_type=content_type).interpretable


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html>\n<html><body>Not found</body></html>",
        b"\n\n  <html lang=en><head><title>404</title></head></html>",
        b"<!-- soft 404 -->\n<div>Page not found</div>",
        b"<?xml version='1.0'?>\n<html xmlns='http://www.w3.org/1999/xhtml'></html>",
    ],
)
def test_html_soft_404_sniffed(body):
    parsed = parse(body, content_type="text/plain")
    assert parsed.dialect == "html"
    assert codes(parsed) == ["aitxt.html-content"]


@pytest.mark.parametrize(
    "body",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        bytes(range(256)) * 4,
        b"<?xml version='1.0'?><policy><ai>no</ai></policy>",
        "We love AI.\nPlease cite us when you can.\n",
    ],
)
def test_unknown_dialect(body):
    parsed = parse(body)
    assert parsed.dialect == "unknown" and not parsed.interpretable
    assert codes(parsed) == ["aitxt.unknown-dialect"]


@pytest.mark.parametrize("body", [b"", "   \n\n\t\n", "# Spawning AI\n# nothing yet\n", "/\n"])
def test_empty_file(body):
    parsed = parse(body)
    assert parsed.dialect == "empty" and not parsed.interpretable
    assert codes(parsed) == ["aitxt.empty-file"]


def test_markdown_with_a_prose_allow_line_is_markdown():
    body = "# AI policy\n\n## Rules\n- Training: no\n- Search: yes\n\nAllow: citation with a link\n"
    assert parse(body).dialect == "markdown"


def test_yaml_like_list_after_allow_is_not_a_rule():
    parsed = parse("User-agent: *\nAllow:\n  - /blog\n  - /docs\nContact: me@example.com\n")
    assert parsed.dialect == "key-value"


# --- every finding code, triggered ---------------------------------------------------------------

TRIGGERS: dict[str, tuple[str | bytes, str | None]] = {
    "aitxt.markdown-dialect": (site("avelino.avelino.run~static_ai.txt"), None),
    "aitxt.key-value-dialect": (site("shalzz.shalzz.github.io~static_ai.txt"), None),
    "aitxt.html-content": ("<!doctype html><p>Not found</p>", None),
    "aitxt.unknown-dialect": (b"\x00\x01\x02binary", None),
    "aitxt.empty-file": ("", None),
    "aitxt.stray-slash-line": ("# Spawning AI\n/\nUser-agent: *\n/\nDisallow: *.jpg\n", None),
    "aitxt.rules-before-user-agent": ("Disallow: /x\nUser-agent: *\nDisallow: /y\n", None),
    "aitxt.unknown-directive": ("User-agent: *\nDisallow: /\nai-training: disallowed\n", None),
    "aitxt.robots-txt-record": (site("OR13.vibeslop.ceo~public_ai.txt"), None),
    "aitxt.invalid-pattern": ("User-agent: *\nDisallow: /x\nDisallow: private/\n", None),
    "aitxt.invalid-line": ("User-agent: *\nDisallow: /x\nDisallow /private\n", None),
}


def test_every_finding_code_has_a_trigger():
    declared = {v.code for v in vars(aitxt).values() if isinstance(v, FindingSpec)}
    assert declared == set(TRIGGERS)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_finding_triggered(code):
    body, content_type = TRIGGERS[code]
    parsed = parse(body, content_type=content_type)
    assert code in codes(parsed)
    for finding in parsed.findings:
        assert finding.source == "ai.txt" and finding.message


def test_rules_before_user_agent_are_ignored():
    parsed = parse("Disallow: /x\nUser-agent: *\nDisallow: /y\n")
    assert [f.line for f in parsed.findings] == [1]
    assert parsed.match("/x", "*") is None
    assert parsed.match("/y", "*").allowed is False


def test_invalid_pattern_rule_is_ignored():
    parsed = parse("User-agent: *\nDisallow: /x\nDisallow: private/\n")
    assert parsed.match("/private/a", "*") is None
    (finding,) = parsed.findings
    assert finding.code == "aitxt.invalid-pattern" and finding.line == 3


def test_robots_record_message_names_the_line():
    parsed = parse(site("OR13.vibeslop.ceo~public_ai.txt"))
    (finding,) = parsed.findings
    assert "Content-Usage: ai=y" in finding.message and finding.line == 10


# --- robustness ----------------------------------------------------------------------------------


def test_lenient_hostile_pattern_is_fast():
    rules = "".join(f"Disallow: {'*a' * 40}b{i}\n" for i in range(200))
    parsed = parse("User-agent: *\n" + rules)
    path = "/" + "a" * 20_000
    start = time.perf_counter()
    assert parsed.match(path, "*") is None
    assert time.perf_counter() - start < 2.0


def test_large_file_parses_in_linear_time():
    body = ("User-agent: *\n" + "Disallow: *.ext\n" * 20_000).encode()
    start = time.perf_counter()
    parsed = parse(body)
    assert parsed.dialect == "spawning" and len(parsed.groups[0].rules) == 20_000
    assert time.perf_counter() - start < 5.0


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=2000), st.text(max_size=2000)), st.text(max_size=40))
def test_parse_never_raises(body, agent):
    parsed = parse(body)
    assert parsed.dialect in DIALECTS
    match = parsed.match("/some/path.jpg?q=1", agent)
    assert match is None or parsed.interpretable


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "User-agent: *",
                "User-agent: GPTBot",
                "Disallow: /",
                "Allow: /",
                "Allow: /a",
                "Disallow: /a",
                "Disallow: *.jpg",
                "Allow: *.jpg$",
                "/",
                "# c",
                "",
                "Sitemap: /s",
                "Training: no",
                "Disallow: /a$",
                "Allow: /a*b$",
                "Disallow: *x*y",
                "Allow: *",
            ]
        ),
        max_size=30,
    )
)
def test_match_is_the_longest_matching_rule(lines):
    parsed = parse("\n".join(lines))
    if not parsed.interpretable:
        return
    for url in ("/a.jpg", "/b", "/a/x.jpg.html", "/a", "/ab", "/a/xy", "/x.jpg"):
        match = parsed.match(url, "GPTBot")
        if match is None:
            continue
        group = next(g for g in parsed.groups if match.line in [r.line for r in g.rules])
        matching = [
            r
            for g in parsed.groups
            if any(a.casefold() == match.agent_group.casefold() for a in g.agents)
            for r in g.rules
            if r.pattern.matches(url)
        ]
        assert group.rules
        best = max(r.pattern.priority for r in matching)
        assert match.pattern and len(match.pattern) == best
        winners = [r for r in matching if r.pattern.priority == best]
        assert match.allowed == any(r.allow for r in winners)


# Runs of "*.ext" rules are answered by one lookup per "." of the path (aitxt._run_finders); the
# answer must be the plain one: the best rule (longest, allow on a tie, then file order) matching.
EXT_PIECES = [".jpg", ".jpeg", ".tar", ".tar.gz", ".gz", ".c", ".cpp", ".h", ".html", ".htm", ".x"]


def reference_line(parsed: aitxt.AiTxt, url: str) -> int | None:
    path = normalize_url_path(url)
    rules = sorted(
        (r for g in parsed.groups if "*" in g.agents for r in g.rules),
        key=lambda r: (-r.pattern.priority, not r.allow, r.line),
    )
    return next((r.line for r in rules if r.pattern.matches(path)), None)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Allow", "Disallow"]),
            st.one_of(
                st.sampled_from(EXT_PIECES).map(lambda piece: "*" + piece),
                st.sampled_from(["/", "*", "/a/", "*.jpg$", "/a*.h", "*.tar*.gz"]),
            ),
        ),
        min_size=1,
        max_size=40,
    ),
    st.lists(
        st.sampled_from(
            ["/", "a", "b.", ".", "jpg", "jpeg", "tar", "gz", "c", "pp", "h", "tml", "?"]
        ),
        max_size=8,
    ),
)
def test_runs_of_extension_rules_answer_as_the_plain_scan(rules, parts):
    text = "User-Agent: *\n" + "".join(f"{verb}: {pattern}\n" for verb, pattern in rules)
    parsed = parse(text)
    assert parsed.interpretable
    path = "/" + "".join(parts)
    match = parsed.match(path, "AnyBot")
    assert (None if match is None else match.line) == reference_line(parsed, path)


def test_spawning_generated_files_answer_as_the_plain_scan():
    paths = [
        "/",
        "/a.jpg",
        "/a.JPG",
        "/x.tar.gz",
        "/dir.mp3/file.html?v=1.2",
        "/no-dot",
        "/a.b.c.d.e.py",
        "/.well-known/x.json",
        "/page.html",
    ]
    for allowed in ALLOWED_SETS:
        parsed = parse(spawning_generate(allowed))
        for path in paths:
            match = parsed.match(path, "GPTBot")
            assert (None if match is None else match.line) == reference_line(parsed, path), (
                allowed,
                path,
            )


def test_many_distinct_agents_are_answered_and_remembered_within_a_bound():
    parsed = parse("User-Agent: GPTBot\nDisallow: /\n\nUser-Agent: *\nAllow: /\n")
    for round_ in range(2):
        for i in range(aitxt._SELECTED_AGENTS + 50):
            match = parsed.match("/page", f"Bot{i}")
            assert match is not None and match.allowed and match.agent_group == "*"
            gpt = parsed.match("/page", "gptbot/1.2" if i % 2 else "GPTBot")
            assert gpt is not None and not gpt.allowed, (round_, i)
            assert len(parsed._selected) <= aitxt._SELECTED_AGENTS
