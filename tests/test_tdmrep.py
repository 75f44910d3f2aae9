"""TDMRep: tdmrep.json, the tdm-* headers and meta tags, and the layer order (signals.md §1)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reservation_crawler.apps import catalogue as catalogue_module
from reservation_crawler.model import findings as findings_module
from reservation_crawler.model.findings import Severity
from reservation_crawler.signals import tdmrep
from reservation_crawler.signals.patterns import compile_pattern
from reservation_crawler.signals.tdmrep import (
    TdmRepValues,
    effective_tdm,
    parse_tdmrep_json,
    tdm_from_headers,
    tdm_from_meta,
)

DATA = Path(__file__).parent / "data" / "tdmrep"
HEADERS_DATA = Path(__file__).parent / "data" / "headers"
SITES = DATA / "sites"
INDEX = [
    entry
    for entry in json.loads((DATA / "index.json").read_text("utf-8"))
    if entry["kind"] == "tdmrep.json" and (DATA / entry["file"]).exists()
]


def codes(found) -> list[str]:
    return [f.code for f in found]


def parse(rules: object) -> tdmrep.TdmRepFile:
    return parse_tdmrep_json(json.dumps(rules))


# --- tdmrep.json: the spec's examples ------------------------------------------------------------


def test_tdmrep_spec_example_site_wide_reserves_every_url():
    parsed = parse_tdmrep_json(
        (DATA / "spec" / "w3c-spec__tdmrep-example-1-site-wide.json").read_bytes()
    )
    assert parsed.findings == ()
    for url in ("https://example.com/", "https://example.com/a/b?c=d", "/x.jpg"):
        rule = parsed.rule_for(url)
        assert rule is not None and rule.reservation == 1 and rule.policy is None


@pytest.mark.parametrize(
    ("url", "index", "reservation", "policy"),
    [
        ("https://provider.com/directory-a/page.html", 0, 1, None),
        (
            "https://provider.com/directory-b/html/x.html",
            1,
            1,
            "https://provider.com/policies/policy.json",
        ),
        ("https://provider.com/directory-b/images/cat.jpg", 2, 0, None),
        ("https://provider.com/directory-b/images/sub/cat.jpg?size=2", 2, 0, None),
        ("https://provider.com/directory-b/images/cat.png", None, None, None),
        ("https://provider.com/directory-a", None, None, None),  # prefix "/directory-a/" not met
        ("https://provider.com/", None, None, None),  # no match -> unset
    ],
)
def test_tdmrep_spec_example_three_groups(url, index, reservation, policy):
    parsed = parse_tdmrep_json(
        (DATA / "spec" / "w3c-spec__tdmrep-example-2-three-groups.json").read_bytes()
    )
    assert parsed.findings == ()
    assert [rule.line for rule in parsed.rules] == [2, 6, 11]
    rule = parsed.rule_for(url)
    if index is None:
        assert rule is None
    else:
        assert (rule.index, rule.reservation, rule.policy) == (index, reservation, policy)


def test_tdmrep_first_matching_rule_wins_not_the_longest():
    parsed = parse(
        [{"location": "/", "tdm-reservation": 1}, {"location": "/open/", "tdm-reservation": 0}]
    )
    rule = parsed.rule_for("https://example.com/open/article")
    assert rule is not None and rule.index == 0 and rule.reservation == 1
    assert codes(parsed.findings) == ["tdmrep.shadowed-rule"]


def test_tdmrep_specific_rule_listed_first_applies():
    parsed = parse(
        [{"location": "/open/", "tdm-reservation": 0}, {"location": "/", "tdm-reservation": 1}]
    )
    assert parsed.findings == ()
    assert parsed.rule_for("https://example.com/open/a").reservation == 0
    assert parsed.rule_for("https://example.com/closed/a").reservation == 1


@pytest.mark.parametrize(
    ("location", "url", "matches"),
    [
        ("/*.pdf$", "https://e.com/docs/a.pdf", True),
        ("/*.pdf$", "https://e.com/docs/a.pdf?download=1", False),
        ("/*.pdf", "https://e.com/docs/a.pdf.html", True),  # no "$": prefix semantics
        ("/Private/", "https://e.com/private/a", False),  # case-sensitive
        ("/a%7Eb/", "https://e.com/a~b/c", True),  # percent-encoded unreserved decoded
        ("/caf%C3%A9/", "https://e.com/café/menu", True),  # non-ASCII URL encoded
        ("/a%2Ab", "https://e.com/a*b", True),  # %2A is a literal "*"
        ("/a%2Ab", "https://e.com/axxb", False),
    ],
)
def test_tdmrep_location_uses_robots_pattern_syntax(location, url, matches):
    parsed = parse([{"location": location, "tdm-reservation": 1}])
    assert (parsed.rule_for(url) is not None) is matches


# --- tdmrep.json: real files --------------------------------------------------------------------


@pytest.mark.parametrize("entry", INDEX, ids=lambda e: Path(e["file"]).name.split("__")[1][:40])
def test_tdmrep_real_files_match_corpus_observations(entry):
    parsed = parse_tdmrep_json((DATA / entry["file"]).read_bytes())
    found = codes(parsed.findings)
    errors = [f for f in parsed.findings if f.severity is Severity.ERROR]
    if entry["conforms_to_spec_shape"]:
        assert parsed.readable and errors == []
        assert len(parsed.rules) == 1
        rule = parsed.rule_for("https://site.example/any/page.html")
        assert rule is not None and rule.reservation in (0, 1)
    if entry["top_level"] == "dict":
        assert not parsed.readable and parsed.rules == ()
        assert "tdmrep.not-an-array" in found
        assert parsed.rule_for("https://site.example/") is None
    if any("wildcard: *" in note for note in entry["observations"]):
        assert "tdmrep.location-wildcard-start" in found


def test_tdmrep_real_single_object_is_diagnosed_as_a_rule_but_not_read():
    # Jan64X/janpetrlik.com: {"tdm-reservation": 1, "tdm-policy": ...} without brackets/location.
    parsed = parse_tdmrep_json(
        (SITES / "ghsite__Jan64X.janpetrlik.com~public_.well-known_tdmrep.json").read_bytes()
    )
    assert codes(parsed.findings) == ["tdmrep.not-an-array", "tdmrep.missing-location"]
    assert parsed.rule_for("https://janpetrlik.com/") is None


def test_tdmrep_real_underscore_keys_suggest_the_hyphenated_names():
    parsed = parse_tdmrep_json(
        (SITES / "ghsite__koji.blog~public_.well-known_tdmrep.json").read_bytes()
    )
    messages = [f.message for f in parsed.findings if f.code == "tdmrep.unknown-key"]
    assert any('did you mean "tdm-reservation"' in m for m in messages)
    assert any('did you mean "tdm-policy"' in m for m in messages)


def test_tdmrep_real_wrapped_array_is_named():
    parsed = parse_tdmrep_json(
        (SITES / "ghsite__OR13.vibeslop.ceo~public_.well-known_tdmrep.json").read_bytes()
    )
    assert codes(parsed.findings) == ["tdmrep.not-an-array"]
    assert '"tdmrep"' in parsed.findings[0].message


def test_tdmrep_real_json_ld_document_is_named():
    parsed = parse_tdmrep_json(
        (SITES / "ghsite__maiksensi.maikfigura.de~public_.well-known_tdmrep.json").read_bytes()
    )
    assert codes(parsed.findings) == ["tdmrep.not-an-array"]
    assert "JSON-LD" in parsed.findings[0].message


def test_lenient_location_starting_with_wildcard_matches_everything():
    # tentaclequing/gianna-brachetti.com: "location": "*" (Google-style; strict RFC drops it).
    parsed = parse_tdmrep_json(
        (
            SITES / "ghsite__tentaclequing.gianna-brachetti.com~static_.well-known_tdmrep.json"
        ).read_bytes()
    )
    assert codes(parsed.findings) == ["tdmrep.location-wildcard-start"]
    rule = parsed.rule_for("https://gianna-brachetti.com/any/thing.jpg")
    assert rule is not None and rule.reservation == 1 and rule.location.raw == "*"
    star_jpg = parse([{"location": "*.jpg", "tdm-reservation": 1}])
    assert star_jpg.rule_for("https://e.com/a/b.jpg") is not None
    assert star_jpg.rule_for("https://e.com/a/b.png") is None


# --- tdmrep.json: documents that are not read ---------------------------------------------------


def test_tdmrep_trailing_comma_is_not_json():
    # The W3C spec's own policy example 2 has a trailing comma as published.
    body = (
        DATA / "spec" / "w3c-spec__policy-full-example-2-compensate-non-research.jsonld"
    ).read_bytes()
    parsed = parse_tdmrep_json(body)
    assert not parsed.readable and parsed.rules == ()
    assert codes(parsed.findings) == ["tdmrep.not-json"]
    assert "trailing comma" in parsed.findings[0].message
    assert parsed.findings[0].line == 14  # the "}" right after the trailing comma
    constructed = parse_tdmrep_json('[ { "location": "/", "tdm-reservation": 1, } ]')
    assert codes(constructed.findings) == ["tdmrep.not-json"]


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "HTML"),
        (b'[{"location": "/", "tdm-reservation": 1}]\n[{"location": "/"}]', ""),  # JSON Lines
        (b"[{'location': '/', 'tdm-reservation': 1}]", ""),
        (b'[{"location": "/", "tdm-reservation": NaN}]', "NaN"),
        (b'[{"location": "/caf\xe9", "tdm-reservation": 1}]', "not UTF-8"),
        ('[{"location": "/", "tdm-reservation": 1}]'.encode("utf-16"), "UTF-16"),
        (b"[" * 100_000, ""),
    ],
)
def test_tdmrep_not_json(body, hint):
    parsed = parse_tdmrep_json(body)
    assert not parsed.readable and parsed.rules == ()
    assert codes(parsed.findings) == ["tdmrep.not-json"]
    assert hint in parsed.findings[0].message


@pytest.mark.parametrize("body", [b"\xef\xbb\xbf", "\ufeff"])
def test_lenient_utf8_bom_is_tolerated_with_a_warning(body):
    text = (SITES / "ghsite__jsdosanj.ledger~well-known_tdmrep.json").read_text("utf-8")
    parsed = parse_tdmrep_json(body + (text.encode() if isinstance(body, bytes) else text))
    assert codes(parsed.findings) == ["tdmrep.bom"]
    assert parsed.findings[0].severity is Severity.WARNING
    assert parsed.rule_for("https://ledger.dosanjhlabs.com/").reservation == 1


@pytest.mark.parametrize(
    ("document", "kind"),
    [
        ({"location": "/", "tdm-reservation": 1}, "single object"),
        ("x", "string"),
        (1, "number"),
        (None, "null"),
        ({"policies": []}, '"policies"'),
    ],
)
def test_tdmrep_not_an_array(document, kind):
    parsed = parse(document)
    assert not parsed.readable and parsed.rules == ()
    assert codes(parsed.findings)[0] == "tdmrep.not-an-array"
    assert kind in parsed.findings[0].message


def test_tdmrep_empty_array_has_no_rules():
    parsed = parse_tdmrep_json("[ ]")
    assert parsed.readable and parsed.rules == ()
    assert codes(parsed.findings) == ["tdmrep.no-rules"]
    assert parsed.rule_for("https://e.com/") is None


# --- tdmrep.json: rule problems -----------------------------------------------------------------


def test_tdmrep_rule_not_object_is_skipped():
    parsed = parse(["/", {"location": "/", "tdm-reservation": 1}])
    assert codes(parsed.findings) == ["tdmrep.rule-not-object"]
    assert parsed.findings[0].location == "/0"
    assert parsed.rule_for("https://e.com/").index == 1


def test_tdmrep_missing_location_rule_applies_to_nothing():
    parsed = parse([{"tdm-reservation": 1}, {"location": "/b/", "tdm-reservation": 0}])
    assert codes(parsed.findings) == ["tdmrep.missing-location"]
    assert parsed.rule_for("https://e.com/a") is None
    assert parsed.rule_for("https://e.com/b/x").index == 1


@pytest.mark.parametrize(
    ("location", "hint"),
    [
        ("https://example.com/blog/", '("/blog/")'),
        ("blog/", 'does not start with "/"'),
        ("", "not a path pattern"),
        (["/a", "/b"], "not a path pattern"),
        (1, "not a path pattern"),
    ],
)
def test_tdmrep_invalid_location_rule_applies_to_nothing(location, hint):
    parsed = parse([{"location": location, "tdm-reservation": 1}])
    assert codes(parsed.findings) == ["tdmrep.invalid-location"]
    assert hint in parsed.findings[0].message
    assert parsed.findings[0].location == "/0/location"
    assert parsed.rules == ()
    assert parsed.rule_for("https://example.com/blog/x") is None


def test_tdmrep_missing_reservation_rule_still_catches_its_urls():
    parsed = parse(
        [
            {"location": "/a/", "tdm-policy": "https://e.com/p.json"},
            {"location": "/", "tdm-reservation": 1},
        ]
    )
    assert codes(parsed.findings) == ["tdmrep.missing-reservation"]
    rule = parsed.rule_for("https://e.com/a/x")
    assert rule.index == 0 and rule.reservation is None and rule.policy == "https://e.com/p.json"
    assert effective_tdm(rule).reservation is None


@pytest.mark.parametrize("value", [2, -1, 0.5, "1", "0", "yes", True, False, None, [1], {"v": 1}])
def test_tdmrep_invalid_reservation_in_file_is_unset(value):
    parsed = parse([{"location": "/", "tdm-reservation": value}])
    assert codes(parsed.findings) == ["tdmrep.invalid-reservation"]
    assert parsed.findings[0].location == "/0/tdm-reservation"
    rule = parsed.rule_for("https://e.com/")
    assert rule is not None and rule.reservation is None


def test_lenient_reservation_written_as_float_is_the_same_json_number():
    parsed = parse_tdmrep_json('[{"location": "/", "tdm-reservation": 1.0}]')
    assert parsed.findings == ()
    assert parsed.rule_for("https://e.com/").reservation == 1


@pytest.mark.parametrize(
    "policy",
    [
        "not-allowed",
        "/tdm-policy.json",
        "mailto:rights@e.com",
        3,
        "https://",
        "{{ .Site.tdmPolicyURL }}",
    ],
)
def test_tdmrep_invalid_policy_in_file_is_ignored(policy):
    parsed = parse([{"location": "/", "tdm-reservation": 1, "tdm-policy": policy}])
    assert codes(parsed.findings) == ["tdmrep.invalid-policy"]
    rule = parsed.rule_for("https://e.com/")
    assert rule.reservation == 1 and rule.policy is None


def test_tdmrep_unknown_keys_are_info():
    parsed = parse([{"location": "/", "tdm-reservation": 1, "tdm_agent": "none"}])
    assert codes(parsed.findings) == ["tdmrep.unknown-key"]
    assert parsed.findings[0].severity is Severity.INFO
    assert parsed.rule_for("https://e.com/").reservation == 1


def test_tdmrep_duplicate_key_keeps_the_last():
    parsed = parse_tdmrep_json('[{"location": "/", "tdm-reservation": 0, "tdm-reservation": 1}]')
    assert codes(parsed.findings) == ["tdmrep.duplicate-key"]
    assert parsed.rule_for("https://e.com/").reservation == 1


def test_tdmrep_policy_with_reservation_0_is_info():
    parsed = parse([{"location": "/", "tdm-reservation": 0, "tdm-policy": "https://e.com/p.json"}])
    assert codes(parsed.findings) == ["tdmrep.policy-with-reservation-0"]
    effective = effective_tdm(parsed.rule_for("https://e.com/"))
    assert effective.reservation == 0 and effective.policy == "https://e.com/p.json"
    assert not effective.policy_applies


# --- shadowing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("/", "/open/"),
        ("/*", "/open/*.jpg"),
        ("/", "/*.jpg"),
        ("*", "/open/"),
        ("/blog", "/blog/2024/*.html$"),
        ("/blog/*", "/blog/x"),
        ("/x$", "/x$"),
        ("/a*b", "/a*b"),
        ("/%7Euser/", "/~user/docs/"),  # the same pattern after normalization
    ],
)
def test_tdmrep_shadowed_rule(earlier, later):
    parsed = parse(
        [{"location": earlier, "tdm-reservation": 1}, {"location": later, "tdm-reservation": 0}]
    )
    shadowed = [f for f in parsed.findings if f.code == "tdmrep.shadowed-rule"]
    assert len(shadowed) == 1 and shadowed[0].location == "/1"
    assert "never apply" in shadowed[0].message


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("/open/", "/"),
        ("/a/", "/a"),
        ("/x$", "/x/"),
        ("/*.jpg", "/a.jpg"),  # covered, but an inner wildcard is not analysed: no finding
        ("/blog/", "/*/blog/"),
    ],
)
def test_tdmrep_not_shadowed(earlier, later):
    parsed = parse(
        [{"location": earlier, "tdm-reservation": 1}, {"location": later, "tdm-reservation": 0}]
    )
    assert "tdmrep.shadowed-rule" not in codes(parsed.findings)


def test_tdmrep_shadowed_rule_with_same_values_is_called_redundant():
    parsed = parse(
        [{"location": "/", "tdm-reservation": 1}, {"location": "/a/", "tdm-reservation": 1}]
    )
    assert "redundant" in parsed.findings[0].message


_PATTERN_CHARS = st.sampled_from(["/", "a", "b", "*", "$"])
_PATH_CHARS = st.sampled_from(["/", "a", "b"])


@given(
    earlier=st.text(_PATTERN_CHARS, max_size=5).map(lambda s: "/" + s),
    later=st.text(_PATTERN_CHARS, max_size=5).map(lambda s: "/" + s),
    paths=st.lists(st.text(_PATH_CHARS, max_size=6).map(lambda s: "/" + s), max_size=30),
)
def test_tdmrep_shadowing_is_never_a_false_positive(earlier, later, paths):
    parsed = parse(
        [{"location": earlier, "tdm-reservation": 1}, {"location": later, "tdm-reservation": 0}]
    )
    if "tdmrep.shadowed-rule" in codes(parsed.findings):
        first, second = compile_pattern(earlier), compile_pattern(later)
        for path in paths:
            if second.matches(path):
                assert first.matches(path)


def test_tdmrep_large_file_is_parsed_in_linear_time():
    rules = [{"location": f"/section-{i}/", "tdm-reservation": i % 2} for i in range(20_000)]
    rules.append({"location": "/section-7/deep/", "tdm-reservation": 1})
    parsed = parse(rules)
    assert len(parsed.rules) == 20_001
    assert codes(parsed.findings) == ["tdmrep.shadowed-rule"]
    assert parsed.rule_for("https://e.com/section-19999/x").index == 19_999


# --- headers ------------------------------------------------------------------------------------


def header_examples() -> list[dict]:
    data = json.loads((HEADERS_DATA / "header_and_meta_examples.json").read_text("utf-8"))
    return data["examples"]


def config_line_to_header(line: str) -> tuple[str, str]:
    """A header as configured in _headers, vercel.json ({"key", "value"}) or .htaccess."""
    line = line.strip()
    if line.startswith("{"):
        item = json.loads(line.rstrip(","))
        return item["key"], item["value"]
    if line.startswith("Header set "):
        name, _, value = line.removeprefix("Header set ").partition(" ")
        return name, value.strip().strip('"')
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


TDM_HEADER_LINES = [
    e["line"]
    for e in header_examples()
    if e["file_kind"] == "headers" and "tdm" in config_line_to_header(e["line"])[0].lower()
]


@pytest.mark.parametrize("line", TDM_HEADER_LINES)
def test_tdmrep_real_header_lines(line):
    name, value = config_line_to_header(line)
    values = tdm_from_headers([(name, value)])
    folded = name.lower()
    if folded == "tdm-reservation":
        assert values.reservation == int(value) and values.findings == ()
        assert values.reservation_location == f"header {name}"
    elif folded == "tdm-policy":
        assert values.policy == value and values.findings == ()
    else:  # X-TDM-Policy "Not Allowed" (.htaccess, macarons-hottekiet)
        assert codes(values.findings) == ["tdmrep.nonstandard-name"]
        assert values.reservation is None and values.policy is None


def test_tdmrep_spec_http_header_examples():
    for name, reservation, policy in (
        ("w3c-spec__http-header-example-1-reserved-no-policy.http", 1, None),
        (
            "w3c-spec__http-header-example-2-reserved-with-policy.http",
            1,
            "https://provider.com/policies/policy.json",
        ),
    ):
        lines = (DATA / "spec" / name).read_text("utf-8").splitlines()[1:]
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines if line]
        values = tdm_from_headers(headers)
        assert (values.reservation, values.policy, values.findings) == (reservation, policy, ())


@pytest.mark.parametrize(
    "headers",
    [
        [("TDM-Reservation", "1")],
        [("tdm-reservation", " 1 ")],
        {"Tdm-Reservation": "1"},
        httpx.Headers([("tdm-reservation", "1")]),
    ],
)
def test_tdmrep_header_names_are_case_insensitive(headers):
    assert tdm_from_headers(headers).reservation == 1


@pytest.mark.parametrize("value", ["2", "yes", '"1"', "true", "", "01", "1.0", "one"])
def test_tdmrep_invalid_header_value_is_unset(value):
    values = tdm_from_headers([("tdm-reservation", value)])
    assert values.reservation is None
    assert codes(values.findings) == ["tdmrep.invalid-reservation"]
    assert values.raw_reservation == (value,) and values.present


def test_tdmrep_repeated_equal_headers_are_reported_once():
    values = tdm_from_headers([("tdm-reservation", "1"), ("TDM-Reservation", "1")])
    assert values.reservation == 1
    assert codes(values.findings) == ["tdmrep.duplicate-value"]


@pytest.mark.parametrize(
    "headers",
    [
        [("tdm-reservation", "1"), ("tdm-reservation", "0")],
        [("tdm-reservation", "1, 0")],  # repeated fields combined by a proxy (RFC 9110 §5.3)
    ],
)
def test_tdmrep_contradictory_headers_are_unset(headers):
    values = tdm_from_headers(headers)
    assert values.reservation is None
    assert codes(values.findings) == ["tdmrep.conflicting-values"]


def test_tdmrep_contradictory_policy_headers_are_unset():
    values = tdm_from_headers(
        [("tdm-policy", "https://e.com/a.json"), ("tdm-policy", "https://e.com/b.json")]
    )
    assert values.policy is None and codes(values.findings) == ["tdmrep.conflicting-values"]


def test_tdmrep_valid_and_invalid_copies_keep_the_valid_value():
    values = tdm_from_headers([("tdm-reservation", "1"), ("tdm-reservation", "yes")])
    assert values.reservation == 1
    assert codes(values.findings) == ["tdmrep.invalid-reservation"]


def test_tdmrep_obsolete_tdm_a_header_from_the_w3c_techniques_page():
    snippets = json.loads(
        (DATA / "spec" / "w3c-techniques__header-config-examples.json").read_text()
    )
    nginx = next(e for e in snippets["examples"] if e["server"] == "nginx")["text"]
    _, name, value = nginx.splitlines()[1].strip().rstrip(";").split()  # add_header TDM-a 0;
    values = tdm_from_headers([(name, value)])
    assert codes(values.findings) == ["tdmrep.obsolete-header"]
    assert values.reservation is None and not values.present


def test_tdmrep_header_policy_with_reservation_0_is_info():
    values = tdm_from_headers([("tdm-reservation", "0"), ("tdm-policy", "https://e.com/p.json")])
    assert (values.reservation, values.policy) == (0, "https://e.com/p.json")
    assert codes(values.findings) == ["tdmrep.policy-with-reservation-0"]


# --- meta ---------------------------------------------------------------------------------------


def test_tdmrep_meta_values():
    values = tdm_from_meta({"tdm-reservation": ["1"], "TDM-Policy": ["https://e.com/p.json"]})
    assert (values.layer, values.reservation, values.policy) == ("meta", 1, "https://e.com/p.json")
    assert values.policy_location == 'meta name="TDM-Policy"'


def test_tdmrep_meta_real_non_url_policy_and_epub_name():
    # macarons-hottekiet: <meta name="tdm-policy" content="not-allowed">; tdm:reservation is EPUB's.
    values = tdm_from_meta({"tdm-policy": ["not-allowed"], "tdm:reservation": ["1"]})
    assert values.policy is None and values.reservation is None
    assert sorted(codes(values.findings)) == ["tdmrep.invalid-policy", "tdmrep.nonstandard-name"]


def test_tdmrep_meta_contradictory_tags_are_unset():
    values = tdm_from_meta({"tdm-reservation": ["1", "0"]})
    assert values.reservation is None and codes(values.findings) == ["tdmrep.conflicting-values"]


# --- layer order (TDMRep §4) --------------------------------------------------------------------


def file_rule(reservation: int | None = 1, policy: str | None = "https://e.com/file-policy.json"):
    rule: dict = {"location": "/"}
    if reservation is not None:
        rule["tdm-reservation"] = reservation
    if policy is not None:
        rule["tdm-policy"] = policy
    return parse([rule]).rule_for("https://e.com/")


def header(**values: str) -> TdmRepValues:
    return tdm_from_headers([(name.replace("_", "-"), value) for name, value in values.items()])


def meta(**values: str) -> TdmRepValues:
    return tdm_from_meta({name.replace("_", "-"): [value] for name, value in values.items()})


def test_tdmrep_layer_order_nothing_is_unset():
    effective = effective_tdm(None, header(), meta())
    assert effective.reservation is None and effective.reservation_layer is None
    assert effective.reserved is None and effective.findings == ()


def test_tdmrep_layer_order_file_alone():
    effective = effective_tdm(file_rule(1))
    assert (effective.reservation, effective.reservation_layer) == (1, "file")
    assert (effective.policy, effective.policy_layer) == ("https://e.com/file-policy.json", "file")
    assert effective.reservation_location == "tdmrep.json rule 0"
    assert effective.policy_applies and effective.reserved is True


def test_tdmrep_layer_order_header_overrides_file():
    effective = effective_tdm(file_rule(1, None), header(tdm_reservation="0"))
    assert (effective.reservation, effective.reservation_layer) == (0, "header")
    assert codes(effective.findings) == ["tdmrep.layer-override"]


def test_tdmrep_layer_order_meta_overrides_header_and_file():
    effective = effective_tdm(
        file_rule(1, None), header(tdm_reservation="0"), meta(tdm_reservation="1")
    )
    assert (effective.reservation, effective.reservation_layer) == (1, "meta")
    assert effective.reservation_location == 'meta name="tdm-reservation"'
    assert codes(effective.findings) == ["tdmrep.layer-override", "tdmrep.layer-override"]


def test_tdmrep_layer_order_per_property_policy_alone_replaces_the_file_policy():
    effective = effective_tdm(file_rule(1), header(tdm_policy="https://e.com/header-policy.json"))
    assert (effective.reservation, effective.reservation_layer) == (1, "file")
    assert (effective.policy, effective.policy_layer) == (
        "https://e.com/header-policy.json",
        "header",
    )


def test_tdmrep_layer_order_reservation_0_alone_keeps_the_file_policy():
    effective = effective_tdm(file_rule(1), header(tdm_reservation="0"))
    assert (effective.reservation, effective.reservation_layer) == (0, "header")
    assert (effective.policy, effective.policy_layer) == ("https://e.com/file-policy.json", "file")
    assert not effective.policy_applies
    assert codes(effective.findings) == [
        "tdmrep.layer-override",
        "tdmrep.policy-with-reservation-0",
    ]


def test_tdmrep_layer_order_absence_never_resets():
    rule = file_rule(1)
    for later_header, later_meta in ((header(), meta()), (None, None), (header(), None)):
        effective = effective_tdm(rule, later_header, later_meta)
        assert (effective.reservation, effective.reservation_layer) == (1, "file")
        assert (effective.policy, effective.policy_layer) == (
            "https://e.com/file-policy.json",
            "file",
        )


def test_tdmrep_layer_order_invalid_later_value_does_not_reset():
    effective = effective_tdm(
        file_rule(1), header(tdm_reservation="yes"), meta(tdm_reservation="2")
    )
    assert (effective.reservation, effective.reservation_layer) == (1, "file")


def test_tdmrep_layer_order_conflicting_headers_do_not_reset():
    conflicting = tdm_from_headers([("tdm-reservation", "0"), ("tdm-reservation", "1")])
    effective = effective_tdm(file_rule(1, None), conflicting)
    assert (effective.reservation, effective.reservation_layer) == (1, "file")


def test_tdmrep_layer_order_meta_alone():
    effective = effective_tdm(None, None, meta(tdm_reservation="0"))
    assert (effective.reservation, effective.reservation_layer) == (0, "meta")
    assert effective.reserved is False


def test_tdmrep_policy_without_any_reservation_is_info():
    effective = effective_tdm(None, header(tdm_policy="https://e.com/p.json"))
    assert effective.reservation is None and effective.policy == "https://e.com/p.json"
    assert codes(effective.findings) == ["tdmrep.policy-without-reservation"]


# --- the finding catalogue ----------------------------------------------------------------------


def test_tdmrep_codes_declared_for_fetch_and_validate_layers():
    catalogue = catalogue_module.catalogue()
    for spec in (tdmrep.SERVED_AS_HTML, tdmrep.POLICY_UNREACHABLE):
        assert catalogue[spec.code] is spec
        made = spec(location="https://e.com/.well-known/tdmrep.json")
        assert made.code == spec.code and made.source == "tdmrep"
    assert tdmrep.SERVED_AS_HTML.severity is Severity.ERROR
    assert tdmrep.POLICY_UNREACHABLE.severity is Severity.WARNING


def test_tdmrep_every_spec_is_documented():
    specs = [v for v in vars(tdmrep).values() if isinstance(v, findings_module.FindingSpec)]
    assert len(specs) >= 20
    for spec in specs:
        assert spec.code.startswith("tdmrep.") and spec.source == "tdmrep"
        assert spec.title and spec.explanation and spec.fix and spec.example
