"""Property tests: robots.txt parsing never raises, answers are deterministic, and a
``Disallow: /`` group for an agent shuts it out of everything but /robots.txt."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reservation_crawler.signals.patterns import normalize_url_path
from reservation_crawler.signals.robots import parse

PROFILES = st.sampled_from(["rfc9309", "google"])
AGENTS = st.sampled_from(["GPTBot", "googlebot", "*", "AI2Bot", "", "Foo Bar", "ä"])
KEYS = st.sampled_from(
    [
        "User-agent",
        "user-agent",
        "Allow",
        "Disallow",
        "disalow",
        "Sitemap",
        "Crawl-delay",
        "Content-Signal",
        "Content-Usage",
        "License",
        "Noindex",
        "",
    ]
)
VALUES = st.one_of(
    st.sampled_from(["*", "GPTBot", "/", "/a*b$", "/%7Ea", "train-ai=n", "search=yes", "5", ""]),
    st.text(alphabet="/*$?=%:ab \t#.", max_size=12),
)
LINES = st.builds(lambda k, sep, v: f"{k}{sep}{v}", KEYS, st.sampled_from([": ", ":", " "]), VALUES)
ROBOTS_TEXT = st.lists(LINES, max_size=25).map("\n".join)
PATHS = st.one_of(
    st.text(alphabet="/ab*$?=%#.~\u30c4 ", max_size=20).map(lambda p: "/" + p),
    st.sampled_from(["/", "", "https://example.com", "https://example.com/a?b=c#d", "a/b"]),
)


def _exercise(body: bytes | str, profile: str, url: str, agent: str) -> None:
    txt = parse(body, profile=profile)
    txt.findings  # noqa: B018 - computing them must not raise
    assert txt.explain(url, agent).allowed is txt.allowed(url, agent)
    txt.content_signals(agent)
    txt.content_usages(url, agent)
    txt.crawl_delay(agent)
    txt.groups  # noqa: B018


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2_000), PROFILES, PATHS, AGENTS)
def test_arbitrary_bytes_never_raise(body: bytes, profile: str, url: str, agent: str) -> None:
    _exercise(body, profile, url, agent)


@settings(max_examples=300, deadline=None)
@given(ROBOTS_TEXT, PROFILES, PATHS, AGENTS)
def test_robots_like_text_never_raises(body: str, profile: str, url: str, agent: str) -> None:
    _exercise(body, profile, url, agent)
    _exercise(body.encode("utf-8"), profile, url, agent)


@settings(max_examples=200, deadline=None)
@given(ROBOTS_TEXT, PROFILES, st.lists(PATHS, min_size=1, max_size=5), AGENTS)
def test_allowed_is_deterministic(body: str, profile: str, urls: list[str], agent: str) -> None:
    first = parse(body, profile=profile)
    answers = [first.allowed(url, agent) for url in urls]
    # Same object again (cached per agent), in reverse order, and a fresh parse.
    assert [first.allowed(url, agent) for url in reversed(urls)] == answers[::-1]
    second = parse(body, profile=profile)
    assert [second.allowed(url, agent) for url in urls] == answers


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    st.one_of(ROBOTS_TEXT, st.binary(max_size=500).map(lambda b: b.decode("utf-8", "replace"))),
    st.one_of(PATHS, st.sampled_from(["/robots.txt", "/robots.txt?x=1", "/robots.txt#top"])),
)
def test_disallow_all_group_shuts_the_agent_out(body: str, url: str) -> None:
    agent = "ShutOutBot"
    assume("shut" not in body.lower())  # the file must not already name the agent
    txt = parse(body + "\nUser-agent: ShutOutBot\nDisallow: /\n")
    path = normalize_url_path(url)
    is_robots_txt = path == "/robots.txt" or path.startswith("/robots.txt?")
    assert txt.allowed(url, agent) is is_robots_txt
