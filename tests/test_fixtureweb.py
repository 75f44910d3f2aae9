"""The fixture web: seeded recipes, what each kind serves, the ground truth, the two run modes.

Talks to the server with plain httpx (connecting to 127.0.0.1 with a Host header, or using the
server as an HTTP proxy); never through the project's fetcher.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import socket
import time
import zlib
from collections import Counter
from pathlib import Path

import httpx
import pytest

from reservation_crawler.testing import (
    AGENTS,
    KINDS,
    PAGES,
    PURPOSES,
    FixtureWeb,
    FixtureWebProcess,
    Recipe,
    RobotsCorpus,
    every_variant,
    expected_decisions,
    generate_recipes,
    read_ground_truth,
    recipe,
    site_truth,
)
from reservation_crawler.testing.server import site_index
from reservation_crawler.testing.sites import ALLOW_ALL, group, robots
from reservation_crawler.testing.truth import SiteModel, pattern_matches

DATA = Path(__file__).parent / "data" / "fixtureweb" / "robots"
SLOW = 1.0  # the test web's slow delay; client timeouts below it
BOMB = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def corpus() -> RobotsCorpus:
    return RobotsCorpus(DATA)


@pytest.fixture(scope="module")
def web(corpus: RobotsCorpus):
    """One site of every variant of every kind."""
    fixture = FixtureWeb.from_recipes(
        every_variant(corpus), corpus=corpus, slow_delay=SLOW, gzip_bomb_size=BOMB
    )
    with fixture:
        yield fixture


@pytest.fixture(scope="module")
def client(web: FixtureWeb):
    with httpx.Client(base_url=f"http://127.0.0.1:{web.port}", timeout=5) as http:
        yield http


@pytest.fixture(scope="module")
def proxied(web: FixtureWeb):
    """A client that sends absolute-form requests to the server as its proxy (redirects work)."""
    with httpx.Client(proxy=f"http://127.0.0.1:{web.port}", timeout=5) as http:
        yield http


def site(web: FixtureWeb, kind: str, variant: str) -> int:
    (index,) = web.sites_of(kind, variant)
    return index


def fetch(client: httpx.Client, web: FixtureWeb, index: int, path: str, **kwargs) -> httpx.Response:
    method = kwargs.pop("method", "GET")
    return client.request(method, path, headers={"Host": web.host(index)}, **kwargs)


# ------------------------------------------------------------------------------ recipes


def test_same_seed_gives_the_same_web():
    first = generate_recipes(300, seed=7, corpus=None)
    again = generate_recipes(300, seed=7, corpus=None)
    other = generate_recipes(300, seed=8, corpus=None)
    assert first == again
    assert first != other
    # Site i depends only on (seed, i): a smaller web is a prefix of a larger one.
    assert generate_recipes(100, seed=7, corpus=None) == first[:100]
    truths = [json.dumps(site_truth(i, r, 1234)) for i, r in enumerate(first)]
    assert truths == [json.dumps(site_truth(i, r, 1234)) for i, r in enumerate(again)]


def test_same_seed_and_corpus_give_the_same_corpus_picks(corpus):
    picks = [
        r.params for r in generate_recipes(400, seed=3, corpus=corpus) if r.kind == "corpus-robots"
    ]
    again = [
        r.params for r in generate_recipes(400, seed=3, corpus=corpus) if r.kind == "corpus-robots"
    ]
    assert picks and picks == again
    used = {p["robots"]["corpus"] for p in picks}
    assert used <= {e.name for e in corpus.rules_files}
    assert "protego__alison.com.txt" not in used  # Crawl-delay files are never chosen
    assert "protego__ccli.com.txt" not in used  # HTML bodies only serve as soft-404s


def test_profiles_and_mix():
    broken = {name for name, kind in KINDS.items() if kind.broken}
    clean = Counter(r.kind for r in generate_recipes(1000, profile="clean", corpus=None))
    default = Counter(r.kind for r in generate_recipes(1000, profile="default", corpus=None))
    heavy = Counter(r.kind for r in generate_recipes(1000, profile="broken-heavy", corpus=None))
    assert not broken & set(clean)
    share = lambda c: sum(n for k, n in c.items() if k in broken) / 1000  # noqa: E731
    assert 0.03 < share(default) < 0.25 < share(heavy)
    only_noai = generate_recipes(50, mix={k: 0 for k in KINDS} | {"noai": 1}, corpus=None)
    assert {r.kind for r in only_noai} == {"noai"}
    with pytest.raises(ValueError, match="unknown fixture kinds"):
        generate_recipes(5, mix={"no-such-kind": 1})


def test_recipe_helper_and_json_round_trip():
    made = recipe("tdmrep-file", "shadowing")
    assert made.params["tdmrep"]["rules"] == [
        {"location": "/", "tdm-reservation": 1},
        {"location": "/b/", "tdm-reservation": 0},
    ]
    assert recipe("tdmrep-file").variant == next(iter(KINDS["tdmrep-file"].variants))
    overridden = recipe("plain", robots=None)
    assert overridden.params == {"robots": None}
    assert Recipe(**json.loads(json.dumps(dataclasses.asdict(made)))) == made


def test_the_generator_puts_no_page_signal_where_our_crawler_may_not_fetch(corpus):
    # Otherwise check (which fetches) and a polite crawl (which does not) would disagree.
    for r in generate_recipes(2000, seed=5, corpus=corpus):
        model = SiteModel(r, corpus)
        for path in PAGES:
            if model.crawler_may_fetch(path) is not True:
                assert model.page_facts(path) is None, (r.kind, r.variant, path)


def test_the_default_mix_exercises_every_signal_family(corpus):
    reserving: set[str] = set()
    allowing: set[str] = set()
    values: set[str | None] = set()
    for r in generate_recipes(1500, seed=11, corpus=corpus):
        model = SiteModel(r, corpus)
        for path in PAGES:
            for agent in AGENTS:
                cells, evidence = model.cells(path, agent)
                values.update(cells.values())
                for e in evidence or ():
                    (reserving if e.effect == "reserved" else allowing).add(e.family)
    families = {"content-signal", "content-usage", "tdmrep-file", "tdmrep-header", "tdmrep-meta"}
    assert reserving >= families | {"robots", "ai.txt", "noai", "noimageai"}
    assert allowing >= families | {"robots", "ai.txt"}
    assert values == {"reserved", "allowed", "unspecified", None}


# --------------------------------------------------------------------------- the server


def test_site_index_parses_only_fixture_hosts():
    assert site_index("s00042.fixture.localhost") == 42
    assert site_index("S00042.Fixture.Localhost:8080") == 42
    assert site_index("s00042.fixture.localhost.") == 42
    assert site_index("s0042.fixture.localhost") is None
    assert site_index("sabcde.fixture.localhost") is None
    assert site_index("s00042.example.com") is None
    assert site_index("127.0.0.1:80") is None


def test_pages_links_image_and_head(web, client):
    index = site(web, "plain", "allow-all")
    home = fetch(client, web, index, "/")
    assert home.status_code == 200
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    for link in ('href="/a/1.html"', 'href="/a/2.html"', 'src="/img/1.jpg"'):
        assert link in home.text
    assert f'href="{web.base_url(index + 1)}/"' in home.text  # another fixture site
    assert 'href="http://example.invalid/' in home.text  # off the web: never to be followed
    assert "<head>" in home.text and "</head>" in home.text
    assert 'href="/b/1.html"' in fetch(client, web, index, "/a/1.html").text
    image = fetch(client, web, index, "/img/1.jpg")
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content[:3] == b"\xff\xd8\xff" and image.content.endswith(b"\xff\xd9")
    head = fetch(client, web, index, "/", method="HEAD")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(home.content)
    assert fetch(client, web, index, "/nope").status_code == 404
    assert fetch(client, web, index, "/", method="POST").status_code == 405


def test_keep_alive_serves_many_requests_on_one_connection(web):
    index = site(web, "plain", "allow-all")
    with socket.create_connection(("127.0.0.1", web.port), timeout=5) as sock:
        request = f"GET /robots.txt HTTP/1.1\r\nHost: {web.host(index)}\r\n\r\n".encode()
        sock.sendall(request * 3)  # pipelined
        data = b""
        while data.count(b"HTTP/1.1 200 OK") < 3 or not data.endswith(b"Allow: /\n\n"):
            chunk = sock.recv(65536)
            assert chunk, "connection closed early"
            data += chunk
    assert data.count(b"Connection: keep-alive") == 3


def test_unknown_host_and_admin_paths(web, client):
    unknown = client.get("/", headers={"Host": "s99999.fixture.localhost"})
    assert unknown.status_code == 404 and "unknown fixture site" in unknown.text
    assert client.get("/", headers={"Host": "elsewhere.example"}).status_code == 404
    health = client.get("/_fixture/health")
    assert health.json() == {"status": "ok", "sites": len(web), "port": web.port}
    assert client.get("/_fixture/counts").json()["total"] > 0


def test_absolute_form_requests_let_the_server_act_as_proxy(web, proxied):
    index = site(web, "noai", "header")
    response = proxied.get(web.url(index, "/a/1.html"))
    assert response.status_code == 200
    assert response.headers["x-robots-tag"] == "noai"


def test_request_counts(web, client):
    index = site(web, "tdmrep-file", "reserve-all")
    web.reset_counts()
    assert web.request_count(index, "/.well-known/tdmrep.json") == 0
    for _ in range(2):
        fetch(client, web, index, "/.well-known/tdmrep.json")
    fetch(client, web, index, "/robots.txt?x=1")
    assert web.request_count(index, "/.well-known/tdmrep.json") == 2
    assert web.request_count(index, "/robots.txt") == 1  # the query string is not part of the key
    assert web.request_count(index) == 3
    assert web.request_counts() == {
        (index, "/.well-known/tdmrep.json"): 2,
        (index, "/robots.txt"): 1,
    }
    assert web.total_requests == 3
    web.reset_counts()
    assert web.request_count(index) == 0


# ------------------------------------------------------------------- what the kinds serve


def test_robots_groups_and_extension_lines(web, client):
    body = fetch(client, web, site(web, "content-usage-robots", "path-scoped"), "/robots.txt")
    assert body.headers["content-type"] == "text/plain; charset=utf-8"
    assert (
        "User-agent: *\nContent-Usage: train-ai=n\nContent-Usage: /b/ train-ai=y\nAllow: /\n"
        in body.text
    )
    managed = fetch(
        client, web, site(web, "content-signal-robots", "cloudflare-managed"), "/robots.txt"
    )
    assert "# BEGIN Cloudflare Managed content" in managed.text
    assert "Content-signal: search=yes, ai-train=no" in managed.text
    assert managed.text.count("User-agent: *") == 2
    index = site(web, "rsl", "robots-license")
    assert (
        f"License: {web.base_url(index)}/license.xml"
        in fetch(client, web, index, "/robots.txt").text
    )
    rsl = fetch(client, web, index, "/license.xml")
    assert rsl.headers["content-type"] == "application/rsl+xml" and "<rsl" in rsl.text
    empty = fetch(client, web, site(web, "robots-block-all", "empty-specific-group"), "/robots.txt")
    assert "User-agent: GPTBot\nDisallow:\n\nUser-agent: *\nDisallow: /\n" in empty.text


def test_corpus_bodies_are_served_byte_exact(web, client, corpus):
    index = site(web, "corpus-robots", "any")
    spec = web.recipes[index].params["robots"]
    body = fetch(client, web, index, "/robots.txt").content
    original = (DATA / spec["corpus"]).read_bytes()
    assert body.startswith(original)
    if spec.get("groups"):
        assert body[len(original) :].endswith(b"User-agent: CCBot\nDisallow: /\n\n")
    soft = fetch(client, web, site(web, "robots-soft404", "corpus-html"), "/robots.txt")
    assert soft.status_code == 200 and soft.headers["content-type"].startswith("text/html")
    assert soft.content == (DATA / "protego__ccli.com.txt").read_bytes()


def test_policy_file_statuses(web, client):
    for status in (500, 502, 503):
        assert (
            fetch(client, web, site(web, "robots-5xx", str(status)), "/robots.txt").status_code
            == status
        )
    for status in (401, 403, 410):
        assert (
            fetch(client, web, site(web, "robots-4xx", str(status)), "/robots.txt").status_code
            == status
        )
    assert fetch(client, web, site(web, "no-robots", "404"), "/robots.txt").status_code == 404
    assert (
        fetch(
            client, web, site(web, "tdmrep-broken", "5xx"), "/.well-known/tdmrep.json"
        ).status_code
        == 500
    )
    assert fetch(client, web, site(web, "aitxt-broken", "5xx"), "/ai.txt").status_code == 503


def test_soft404_garbage_and_wrong_types(web, client):
    for kind, variant, path in (
        ("robots-soft404", "generated", "/robots.txt"),
        ("tdmrep-broken", "soft404", "/.well-known/tdmrep.json"),
        ("aitxt-broken", "soft404", "/ai.txt"),
    ):
        response = fetch(client, web, site(web, kind, variant), path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text.startswith("<!DOCTYPE html>")
    garbage = fetch(client, web, site(web, "robots-garbage", "bytes"), "/robots.txt")
    assert garbage.headers["content-type"] == "application/octet-stream"
    assert len(garbage.content) == 4096 and not any(
        chr(b).isalnum() for b in garbage.content if b < 128
    )
    wrong = fetch(client, web, site(web, "robots-wrong-type", "text-html"), "/robots.txt")
    assert (
        wrong.headers["content-type"].startswith("text/html") and "User-agent: GPTBot" in wrong.text
    )
    page = fetch(client, web, site(web, "page-broken", "wrong-type-image"), "/a/2.html")
    assert page.headers["content-type"] == "image/png" and "<html" in page.text
    tdm = fetch(client, web, site(web, "tdmrep-broken", "wrong-type"), "/.well-known/tdmrep.json")
    assert tdm.headers["content-type"].startswith("text/html")
    assert json.loads(tdm.text) == [{"location": "/", "tdm-reservation": 1}]


def test_tdmrep_bodies(web, client):
    def body(variant: str, kind: str = "tdmrep-broken") -> str:
        return fetch(client, web, site(web, kind, variant), "/.well-known/tdmrep.json").text

    with pytest.raises(json.JSONDecodeError):
        json.loads(body("invalid-json"))
    with pytest.raises(json.JSONDecodeError):
        json.loads(body("trailing-comma"))
    assert json.loads(body("single-object")) == {"location": "/", "tdm-reservation": 1}
    assert json.loads(body("string-value")) == [{"location": "/", "tdm-reservation": "1"}]
    assert json.loads(body("bool-value")) == [{"location": "/", "tdm-reservation": True}]
    index = site(web, "tdmrep-file", "with-policy")
    rules = json.loads(fetch(client, web, index, "/.well-known/tdmrep.json").text)
    assert rules[0]["tdm-policy"] == f"{web.base_url(index)}/policy/tdm.json"
    policy = fetch(client, web, index, "/policy/tdm.json")
    assert policy.headers["content-type"] == "application/ld+json"
    assert policy.json()["permission"][0]["action"] == "tdm:mine"
    missing = site(web, "tdmrep-file", "policy-missing")
    assert fetch(client, web, missing, "/policy/missing.json").status_code == 404


def test_aitxt_dialects(web, client):
    spawning = fetch(client, web, site(web, "aitxt-spawning", "extensions"), "/ai.txt").text
    assert spawning.startswith("# Spawning AI\n")
    assert "User-Agent: *\nAllow: *.jpg\nAllow: *.png\nDisallow: *.html" in spawning
    stray = fetch(client, web, site(web, "aitxt-spawning", "stray-slash"), "/ai.txt").text
    assert "\n/\nUser-Agent: *\n/\nDisallow: *.html\n" in stray
    markdown = fetch(client, web, site(web, "aitxt-dialect", "markdown"), "/ai.txt").text
    assert markdown.startswith("# AI policy for ") and "User-Agent" not in markdown
    key_value = fetch(client, web, site(web, "aitxt-dialect", "key-value"), "/ai.txt").text
    assert "Training: disallow" in key_value and "User-Agent" not in key_value


def test_page_signals_in_headers_and_meta(web, client):
    meta = fetch(client, web, site(web, "noai", "meta"), "/a/2.html").text
    assert '<meta name="robots" content="noai, noimageai">' in meta
    scoped = fetch(client, web, site(web, "noai", "scoped-header"), "/")
    assert scoped.headers["x-robots-tag"] == "GPTBot: noai"
    both = fetch(client, web, site(web, "noai", "with-noindex"), "/")
    assert both.headers.get_list("x-robots-tag") == ["noindex", "noai"]
    index = site(web, "noai", "noimageai-image")
    assert fetch(client, web, index, "/img/1.jpg").headers["x-robots-tag"] == "noimageai"
    assert "x-robots-tag" not in fetch(client, web, index, "/").headers
    layers = site(web, "tdmrep-layers", "header1-meta0")
    home = fetch(client, web, layers, "/")
    assert home.headers["tdm-reservation"] == "1"
    assert '<meta name="tdm-reservation" content="0">' in home.text
    assert '<meta name="tdm-reservation"' not in fetch(client, web, layers, "/a/1.html").text
    signal = fetch(client, web, site(web, "content-signal-header", "train-no"), "/")
    assert signal.headers["content-signal"] == "ai-train=no, search=yes"
    rsl = site(web, "rsl", "all")
    home = fetch(client, web, rsl, "/")
    assert home.headers["link"] == (
        f'<{web.base_url(rsl)}/license.xml>; rel="license"; type="application/rsl+xml"'
    )
    assert (
        f'<link rel="license" type="application/rsl+xml" href="{web.base_url(rsl)}/license.xml">'
        in home.text
    )


def test_robots_quirks_a_validator_flags(web, client):
    orphan = fetch(
        client, web, site(web, "robots-quirks", "rules-before-user-agent"), "/robots.txt"
    )
    assert orphan.text.index("Disallow: /\n") < orphan.text.index("User-agent: *")
    token = fetch(client, web, site(web, "robots-quirks", "invalid-token"), "/robots.txt")
    assert "User-agent: GPTBot/1.0\nDisallow: /\n" in token.text
    typos = fetch(client, web, site(web, "robots-quirks", "typos"), "/robots.txt")
    assert "Useragent: GPTBot\nDissallow: /\n" in typos.text
    raw = fetch(client, web, site(web, "robots-quirks", "bom-crlf"), "/robots.txt").content
    assert (
        raw.startswith(b"\xef\xbb\xbf# robots.txt")
        and b"User-agent: CCBot\r\nDisallow: /\r\n" in raw
    )
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_huge_robots_txt(web, client):
    body = fetch(client, web, site(web, "robots-huge", "600k"), "/robots.txt").text
    assert len(body.encode()) > 500 * 1024
    # The deciding groups come first, within any parser's limit.
    assert body.index("User-agent: GPTBot\nDisallow: /\n") < 500
    assert body.index("User-agent: PaddingBot") < 1000


def test_redirect_chains_and_loops(web, proxied):
    def robots_txt(variant: str) -> httpx.Response:
        index = site(web, "robots-redirects", variant)
        return proxied.get(web.url(index, "/robots.txt"), follow_redirects=True)

    five = robots_txt("ok-5")
    assert five.status_code == 200 and len(five.history) == 5
    assert "User-agent: GPTBot" in five.text
    cross = robots_txt("cross-host-3")
    index = site(web, "robots-redirects", "cross-host-3")
    assert len(cross.history) == 3 and cross.url.host == web.host(index + 1)
    assert "fixture site " + web.host(index) in cross.text  # the first host's file
    proxied.max_redirects = 5
    for variant in ("too-many-6", "too-many-9", "loop"):
        with pytest.raises(httpx.TooManyRedirects):
            robots_txt(variant)
    with pytest.raises(httpx.TooManyRedirects):
        index = site(web, "page-broken", "redirect-loop")
        proxied.get(web.url(index, "/a/2.html"), follow_redirects=True)


def test_timeouts_delay_the_response(web, client):
    index = site(web, "robots-timeout", "delay")
    with pytest.raises(httpx.ReadTimeout):
        fetch(client, web, index, "/robots.txt", timeout=0.2)
    started = time.monotonic()
    late = fetch(client, web, index, "/robots.txt", timeout=SLOW + 4)
    assert late.status_code == 200 and time.monotonic() - started >= SLOW * 0.9
    with pytest.raises(httpx.ReadTimeout):
        fetch(client, web, site(web, "page-broken", "home-timeout"), "/", timeout=0.2)


def test_resets_cut_the_response_short(web, client):
    for kind, variant, path in (
        ("robots-reset", "reset", "/robots.txt"),
        ("page-broken", "reset", "/a/1.html"),
        ("page-broken", "home-reset", "/"),
    ):
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            fetch(client, web, site(web, kind, variant), path)


def test_gzip_bomb(web, client):
    index = site(web, "page-broken", "gzip-bomb")
    with client.stream("GET", "/a/1.html", headers={"Host": web.host(index)}) as response:
        assert response.headers["content-encoding"] == "gzip"
        raw = b"".join(response.iter_raw())
    assert len(raw) < 64 * 1024
    expanded = zlib.decompressobj(31).decompress(raw)
    assert len(expanded) > BOMB and expanded.startswith(b"<!DOCTYPE html>")
    assert gzip.decompress(raw) == expanded


# ------------------------------------------------------------------------- ground truth

# Hand-written expectations: per (path, agent) four letters for crawl, train-ai, ai-use,
# search: R reserved, A allowed, u unspecified, ? not asserted (readings disagree).
LETTER = {"reserved": "R", "allowed": "A", "unspecified": "u", None: "?"}
BLOCK_GPTBOT = robots(group(["GPTBot"], [("disallow", "/")]), ALLOW_ALL)


def cells(r: Recipe, corpus: RobotsCorpus | None = None) -> dict[tuple[str, str], str]:
    truth = site_truth(0, r, 8000, corpus)
    return {
        (path, agent): "".join(
            LETTER[truth["expected"][truth["origin"] + path][agent][p]] for p in PURPOSES
        )
        for path in PAGES
        for agent in AGENTS
    }


def assert_cells(r: Recipe, expected: dict[tuple[str, str], str], corpus=None) -> None:
    got = cells(r, corpus)
    assert {k: got[k] for k in expected} == expected


def custom(**params) -> Recipe:
    return Recipe("custom", "", params)


def test_rfc9309_disallowed_url_reserves_every_purpose_allowed_url_allows_crawl():
    assert_cells(
        custom(robots=BLOCK_GPTBOT),
        {
            ("/", "GPTBot"): "RRRR",
            ("/img/1.jpg", "GPTBot"): "RRRR",
            ("/", "*"): "Auuu",
            ("/", "CCBot"): "Auuu",
        },
    )
    paths = custom(
        robots=robots(group(["GPTBot"], [("disallow", "/a/"), ("allow", "/a/2.html")]), ALLOW_ALL)
    )
    assert_cells(
        paths,
        {("/a/1.html", "GPTBot"): "RRRR", ("/a/2.html", "GPTBot"): "Auuu", ("/", "GPTBot"): "Auuu"},
    )
    # Group names are case-insensitive and all groups of one agent merge.
    assert_cells(
        recipe("robots-ai-block", "merged-groups"),
        {("/a/1.html", "GPTBot"): "RRRR", ("/b/1.html", "GPTBot"): "RRRR", ("/", "GPTBot"): "Auuu"},
    )
    # A specific group replaces `*` entirely, even when it has no effective rule.
    assert_cells(
        recipe("robots-block-all", "empty-specific-group"),
        {("/", "GPTBot"): "Auuu", ("/", "ClaudeBot"): "RRRR"},
    )
    assert_cells(recipe("robots-paths", "tie-allow-wins"), {("/a/1.html", "GPTBot"): "Auuu"})
    assert_cells(
        recipe("robots-paths", "wildcards"),
        {
            ("/a/1.html", "CCBot"): "RRRR",
            ("/", "CCBot"): "Auuu",
            ("/img/1.jpg", "*"): "RRRR",
            ("/img/1.jpg", "CCBot"): "Auuu",
        },
    )


def test_rfc9309_missing_robots_allows_crawl():
    for r in (recipe("no-robots"), recipe("robots-4xx", "403"), recipe("robots-4xx", "401")):
        assert_cells(
            r, {("/", "*"): "Auuu", ("/", "GPTBot"): "Auuu", ("/img/1.jpg", "CCBot"): "Auuu"}
        )


def test_rfc9309_unreachable_robots_reserves_everything():
    for variant in ("500", "503"):
        assert_cells(
            recipe("robots-5xx", variant), {("/", "*"): "RRRR", ("/b/1.html", "ClaudeBot"): "RRRR"}
        )
    for r in (
        recipe("robots-timeout"),
        recipe("robots-reset"),
        recipe("robots-redirects", "too-many-6"),
        recipe("robots-redirects", "loop"),
    ):
        assert_cells(r, {("/", "*"): "RRRR", ("/a/1.html", "CCBot"): "RRRR"})


def test_lenient_robots_typos_and_invalid_tokens_are_not_asserted():
    # Rules before any user-agent line are in no group, for RFC 9309 and Google alike.
    assert_cells(recipe("robots-quirks", "rules-before-user-agent"), {("/", "*"): "Auuu"})
    for variant in ("invalid-token", "typos"):
        assert_cells(
            recipe("robots-quirks", variant), {("/", "GPTBot"): "????", ("/", "*"): "Auuu"}
        )
    assert_cells(recipe("robots-quirks", "bom-crlf"), {("/", "CCBot"): "RRRR", ("/", "*"): "Auuu"})


def test_rfc9309_up_to_five_redirects_are_followed():
    for variant in ("ok-1", "ok-5", "cross-host-3"):
        assert_cells(
            recipe("robots-redirects", variant), {("/", "GPTBot"): "RRRR", ("/", "*"): "Auuu"}
        )


def test_lenient_robots_served_as_html_or_garbage_leaves_crawling_allowed():
    for r in (recipe("robots-soft404"), recipe("robots-garbage")):
        assert_cells(r, {("/", "*"): "Auuu", ("/", "GPTBot"): "Auuu"})
    # Valid rules served as text/html: rules or no file, so GPTBot's cells are not asserted.
    assert_cells(recipe("robots-wrong-type"), {("/", "GPTBot"): "????", ("/", "*"): "Auuu"})


def test_content_signal_rows():
    assert_cells(
        recipe("content-signal-robots", "no-train"),
        {("/", "*"): "ARuA", ("/img/1.jpg", "CCBot"): "ARuA"},
    )
    assert_cells(recipe("content-signal-robots", "no-input"), {("/", "GPTBot"): "AuRu"})
    assert_cells(recipe("content-signal-robots", "all-yes"), {("/", "ClaudeBot"): "AAAA"})
    assert_cells(
        recipe("content-signal-robots", "agent-group"),
        {("/", "GPTBot"): "ARuu", ("/", "*"): "Auuu"},
    )
    # A crawler with its own group does not see the `*` group's Content-Signal.
    assert_cells(
        recipe("content-signal-robots", "star-only"),
        {("/", "ClaudeBot"): "Auuu", ("/", "CCBot"): "ARuR"},
    )
    # Only for URLs the agent may crawl.
    assert_cells(
        recipe("content-signal-robots", "on-disallowed-path"),
        {("/b/1.html", "*"): "RRRR", ("/", "*"): "AAuA"},
    )
    assert_cells(
        recipe("content-signal-header", "blocked-agent"),
        {("/", "GPTBot"): "RRRR", ("/", "*"): "AAAu"},
    )
    header = recipe("content-signal-header", "train-no")
    assert_cells(header, {("/a/1.html", "*"): "ARuA", ("/img/1.jpg", "*"): "Auuu"})
    assert_cells(recipe("content-signal-header", "yn-values"), {("/", "*"): "Auuu"})


def test_content_usage_rows():
    assert_cells(recipe("content-usage-robots", "global"), {("/", "*"): "ARuu"})
    # The longest matching path wins over the rule without a path.
    assert_cells(
        recipe("content-usage-robots", "path-scoped"),
        {("/b/1.html", "*"): "AAuu", ("/a/1.html", "*"): "ARuu"},
    )
    assert_cells(recipe("content-usage-robots", "search"), {("/", "CCBot"): "ARuA"})
    assert_cells(recipe("content-usage-header", "train-n-search-y"), {("/img/1.jpg", "*"): "ARuA"})
    for variant in ("malformed", "string-value"):
        assert_cells(recipe("content-usage-header", variant), {("/", "*"): "Auuu"})


def test_tdmrep_file_rows():
    assert_cells(
        recipe("tdmrep-file", "reserve-all"), {("/", "*"): "ARRu", ("/img/1.jpg", "GPTBot"): "ARRu"}
    )
    assert_cells(recipe("tdmrep-file", "allow-all"), {("/", "*"): "AAAu"})
    assert_cells(
        recipe("tdmrep-file", "path-scoped"), {("/b/1.html", "*"): "ARRu", ("/", "*"): "Auuu"}
    )
    # First match in array order, not the longest.
    assert_cells(recipe("tdmrep-file", "shadowing"), {("/b/1.html", "*"): "ARRu"})
    assert_cells(
        recipe("tdmrep-file", "first-match"),
        {("/b/1.html", "*"): "AAAu", ("/a/1.html", "*"): "ARRu"},
    )
    assert_cells(
        recipe("tdmrep-file", "image-rule"), {("/img/1.jpg", "*"): "AAAu", ("/", "*"): "ARRu"}
    )


def test_tdmrep_header_meta_and_layer_order():
    assert_cells(
        recipe("tdmrep-header", "reserve"), {("/", "*"): "ARRu", ("/img/1.jpg", "*"): "ARRu"}
    )
    assert_cells(recipe("tdmrep-header", "allow"), {("/", "CCBot"): "AAAu"})
    assert_cells(recipe("tdmrep-header", "invalid-value"), {("/", "*"): "Auuu"})
    assert_cells(
        recipe("tdmrep-meta", "reserve"), {("/", "*"): "ARRu", ("/img/1.jpg", "*"): "Auuu"}
    )
    assert_cells(
        recipe("tdmrep-layers", "file1-header0"), {("/", "*"): "AAAu", ("/img/1.jpg", "*"): "ARRu"}
    )
    assert_cells(
        recipe("tdmrep-layers", "file0-meta1"), {("/", "*"): "ARRu", ("/img/1.jpg", "*"): "AAAu"}
    )
    # A later layer without tdm-reservation keeps the earlier value.
    assert_cells(recipe("tdmrep-layers", "file1-header-policy-only"), {("/", "*"): "ARRu"})
    assert_cells(
        recipe("tdmrep-layers", "header1-meta0"), {("/", "*"): "AAAu", ("/a/1.html", "*"): "ARRu"}
    )


def test_tdmrep_invalid_files():
    for variant in ("soft404", "invalid-json", "string-value", "bool-value", "5xx"):
        assert_cells(recipe("tdmrep-broken", variant), {("/", "*"): "Auuu"})
    for variant in ("single-object", "trailing-comma", "wrong-type"):
        assert_cells(recipe("tdmrep-broken", variant), {("/", "*"): "A??u"})
    assert_cells(
        recipe("tdmrep-broken", "missing-location"),
        {("/", "*"): "Auuu", ("/b/1.html", "*"): "A??u"},
    )


def test_aitxt_rows():
    assert_cells(
        recipe("aitxt-spawning", "block-all"), {("/", "*"): "ARuu", ("/img/1.jpg", "CCBot"): "ARuu"}
    )
    assert_cells(
        recipe("aitxt-spawning", "extensions"), {("/", "*"): "ARuu", ("/img/1.jpg", "*"): "AAuu"}
    )
    assert_cells(recipe("aitxt-spawning", "allow-all"), {("/", "GPTBot"): "AAuu"})
    assert_cells(
        recipe("aitxt-spawning", "agent-scoped"),
        {("/", "GPTBot"): "ARuu", ("/", "ClaudeBot"): "AAuu"},
    )
    assert_cells(recipe("aitxt-spawning", "stray-slash"), {("/a/1.html", "*"): "ARuu"})
    for r in (
        recipe("aitxt-dialect", "markdown"),
        recipe("aitxt-dialect", "key-value"),
        recipe("aitxt-broken", "soft404"),
    ):
        assert_cells(r, {("/", "*"): "Auuu"})
    assert_cells(recipe("aitxt-broken", "wrong-type"), {("/", "*"): "A?uu"})


def test_noai_rows():
    for variant in ("meta", "header", "with-noindex"):
        assert_cells(
            recipe("noai", variant),
            {("/", "*"): "ARRu", ("/", "GPTBot"): "ARRu", ("/img/1.jpg", "*"): "Auuu"},
        )
    assert_cells(recipe("noai", "mixed-case"), {("/img/1.jpg", "*"): "ARRu"})
    for variant in ("scoped-header", "scoped-meta"):
        assert_cells(
            recipe("noai", variant),
            {("/", "GPTBot"): "ARRu", ("/", "*"): "Auuu", ("/", "ClaudeBot"): "Auuu"},
        )
    assert_cells(
        recipe("noai", "noimageai-image"), {("/img/1.jpg", "CCBot"): "ARRu", ("/", "CCBot"): "Auuu"}
    )
    assert_cells(recipe("noai", "noimageai-meta"), {("/", "*"): "Auuu"})


def test_any_reserved_wins_and_conflicts_are_listed():
    conflict = recipe("conflict", "tdm0-robots-gptbot")
    assert_cells(conflict, {("/", "GPTBot"): "RRRR", ("/", "*"): "AAAu"})
    truth = site_truth(2, conflict, 8000)
    assert {
        (c["path"], c["agent"], c["purpose"]) for c in truth["conflicts"] if c["path"] == "/"
    } == {
        ("/", "GPTBot", "train-ai"),
        ("/", "GPTBot", "ai-use"),
    }
    assert truth["conflicts"][0]["reserved_by"] == ["robots"]
    assert truth["conflicts"][0]["allowed_by"] == ["tdmrep-file"]
    noai = site_truth(0, recipe("conflict", "content-signal-yes-noai"), 8000)
    assert noai["summary"]["home_conflicts"] == 4  # train-ai for each of the four agents
    assert_cells(recipe("conflict", "content-signal-yes-noai"), {("/", "*"): "ARRA"})
    assert_cells(recipe("conflict", "aitxt-allow-content-signal-no"), {("/", "*"): "ARuu"})
    assert site_truth(0, recipe("plain"), 8000)["conflicts"] == []
    assert site_truth(0, recipe("robots-wrong-type"), 8000)["conflicts"] is None


def test_corpus_body_decides_only_appended_agents(corpus):
    appended = custom(
        robots={
            "corpus": "protego__uk.reuters.com.txt",
            "groups": [group(["CCBot"], [("disallow", "/")])],
        }
    )
    assert_cells(
        appended, {("/", "CCBot"): "RRRR", ("/", "*"): "????", ("/", "GPTBot"): "????"}, corpus
    )
    with_tdm = custom(
        robots={"corpus": "ai-robots-txt__robots.txt"},
        tdmrep={"rules": [{"location": "/", "tdm-reservation": 1}]},
    )
    assert_cells(with_tdm, {("/", "GPTBot"): "?RR?", ("/", "*"): "?RR?"}, corpus)
    truth = site_truth(0, appended, 8000, corpus)
    assert truth["families"]["robots-ai-groups"] == ["ccbot", "omgili", "omgilibot"]
    assert truth["summary"]["robots_disallows_home"] == {
        "*": None,
        "GPTBot": None,
        "ClaudeBot": None,
        "CCBot": True,
    }


def test_broken_pages_decide_from_origin_signals():
    for variant in ("timeout", "reset", "redirect-loop", "gzip-bomb", "garbage"):
        assert_cells(
            recipe("page-broken", variant),
            {("/a/1.html", "GPTBot"): "RRRR", ("/a/2.html", "*"): "Auuu"},
        )
    truth = site_truth(0, recipe("page-broken", "home-reset"), 8000)
    assert truth["reached"] is False
    assert truth["pages"][0]["failure"] == "reset"


def test_summary_and_families():
    truth = site_truth(5, recipe("content-signal-robots", "cloudflare-managed"), 8000)
    summary = truth["summary"]
    assert summary["url"] == "http://s00005.fixture.localhost:8000/"
    assert summary["reserved"]["*"] == {
        "crawl": False,
        "train-ai": True,
        "ai-use": False,
        "search": False,
    }
    assert summary["reserved"]["GPTBot"]["crawl"] is True
    assert summary["reserving_families"]["*"]["train-ai"] == ["content-signal"]
    assert summary["reserving_families"]["CCBot"]["train-ai"] == ["robots"]
    assert summary["robots_disallows_home"]["*"] is False
    assert summary["robots_disallows_home"]["GPTBot"] is True
    families = truth["families"]
    assert families["content-signal"] is True and families["content-usage"] is False
    assert {"gptbot", "claudebot", "ccbot"} <= set(families["robots-ai-groups"])
    layers = site_truth(0, recipe("tdmrep-layers", "file1-header0"), 8000)
    assert (layers["families"]["tdmrep-file"], layers["families"]["tdmrep-header"]) == (True, True)
    assert layers["summary"]["reserving_families"]["*"]["train-ai"] == []
    assert layers["sources"]["tdmrep.json"] == {
        "readings": ["read"],
        "status": 200,
        "failure": None,
        "redirects": 0,
        "access": "fetched",
    }
    timeout = site_truth(0, recipe("robots-timeout"), 8000)["sources"]["robots.txt"]
    assert timeout == {
        "readings": ["unreachable"],
        "status": None,
        "failure": "timeout",
        "redirects": 0,
        "access": "unreachable",
    }


def test_pattern_matching_of_the_reasoning():
    assert pattern_matches("/", "/a")
    assert pattern_matches("*.jpg", "/img/1.jpg")
    assert pattern_matches("/*.html$", "/a/1.html") and not pattern_matches(
        "/*.html$", "/a/1.html?x"
    )
    assert not pattern_matches("", "/")
    assert pattern_matches("/img/*.jpg", "/img/1.jpg") and not pattern_matches(
        "/img/*.jpg", "/a/1.html"
    )


# ---------------------------------------------------------------- the web as a whole


def test_ground_truth_file_matches_the_served_web(web, client, tmp_path, corpus):
    path = web.write_ground_truth(tmp_path / "truth.jsonl")
    lines = read_ground_truth(path)
    assert [line["site"] for line in lines] == list(range(len(web)))
    assert lines[3]["origin"] == web.base_url(3)
    decisions = expected_decisions(lines)
    assert len(decisions) == len(web) * len(PAGES)
    index = site(web, "tdmrep-file", "reserve-all")
    assert decisions[web.url(index, "/a/1.html")]["GPTBot"]["train-ai"] == "reserved"
    assert lines[index] == web.truth(index)
    # Every recorded failure matches what the server does.
    for line in lines:
        if line["sources"]["robots.txt"]["failure"] == "status-503":
            assert fetch(client, web, line["site"], "/robots.txt").status_code == 503


def test_ten_thousand_sites_generate_fast_and_serve(tmp_path):
    started = time.monotonic()
    big = FixtureWeb(10_000, seed=2, corpus=False)
    assert len(big) == 10_000
    generated = time.monotonic() - started
    with big, httpx.Client(base_url=f"http://127.0.0.1:{big.port}", timeout=5) as http:
        healthy = [i for i in (0, 1, 2, 4_999, 5_000, 9_998, 9_999) if big.truth(i)["reached"]]
        assert {0, 9_999} & set(healthy)
        for index in healthy:
            home = http.get("/", headers={"Host": big.host(index)})
            assert home.status_code == 200 and big.host(index) in home.text
        assert http.get("/", headers={"Host": "s10000.fixture.localhost"}).status_code == 404
        path = big.write_ground_truth(tmp_path / "big.jsonl")
    total = time.monotonic() - started
    with open(path) as handle:
        assert sum(1 for _ in handle) == 10_000
    assert generated < 5, generated
    assert total < 30, total


def test_separate_process_starts_serves_and_stops(tmp_path):
    truth = tmp_path / "gt.jsonl"
    with FixtureWebProcess(50, seed=3, ground_truth=truth, corpus=False, slow_delay=2) as process:
        ready = process.ready
        assert ready["event"] == "ready" and ready["sites"] == 50 and ready["port"] > 0
        assert ready["url_template"] == f"http://s{{index:05d}}.fixture.localhost:{process.port}"
        lines = read_ground_truth(truth)
        assert len(lines) == 50 and lines[0]["origin"] == process.base_url(0)
        assert lines == [
            site_truth(i, r, process.port)
            for i, r in enumerate(generate_recipes(50, seed=3, corpus=None))
        ]
        with httpx.Client(base_url=f"http://127.0.0.1:{process.port}", timeout=5) as http:
            assert (
                http.get("/img/1.jpg", headers={"Host": "s00001.fixture.localhost"}).status_code
                == 200
            )
        counts = process.request_counts()
        assert counts["sites"]["s00001.fixture.localhost"] == {"/img/1.jpg": 1}
    assert process.stopped == {"event": "stopped", "requests": 2}
    assert process.process is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", process.port), timeout=1).close()


def test_separate_process_serves_a_recipe_file_or_a_mix(tmp_path):
    recipes = tmp_path / "recipes.jsonl"
    chosen = [recipe("robots-5xx", "503"), recipe("noai", "header")]
    recipes.write_text("".join(json.dumps(dataclasses.asdict(r)) + "\n" for r in chosen))
    with FixtureWebProcess(corpus=False, extra_args=["--recipes", str(recipes)]) as process:
        assert process.ready["sites"] == 2
        with httpx.Client(base_url=f"http://127.0.0.1:{process.port}", timeout=5) as http:
            hosts = [{"Host": f"s0000{i}.fixture.localhost"} for i in range(2)]
            assert http.get("/robots.txt", headers=hosts[0]).status_code == 503
            assert http.get("/", headers=hosts[1]).headers["x-robots-tag"] == "noai"
    only_tdm = {k: 0 for k in KINDS} | {"tdmrep-meta": 1}
    truth = tmp_path / "mix.jsonl"
    mix_args = ["--mix", json.dumps(only_tdm)]
    with FixtureWebProcess(20, corpus=False, ground_truth=truth, extra_args=mix_args):
        assert {line["kind"] for line in read_ground_truth(truth)} == {"tdmrep-meta"}


def test_docs_list_every_kind_and_variant():
    docs = (Path(__file__).parents[1] / "docs" / "fixture-web.md").read_text(encoding="utf-8")
    for name, kind in KINDS.items():
        assert f"`{name}`" in docs, name
        for variant in kind.variants:
            assert f"`{variant}`" in docs, (name, variant)
