"""W3C TDMRep (CG Final Report 2024-05-10) decisions and findings that mutation testing found
unprotected (issue #18): the parser never raises on content, first match wins, layer order."""

from __future__ import annotations

import json

import pytest

from reservation_crawler.model.findings import Severity
from reservation_crawler.signals.tdmrep import (
    TdmRepValues,
    effective_tdm,
    parse_tdmrep_json,
    tdm_from_headers,
    tdm_from_meta,
)


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def only(findings, code):
    (finding,) = [f for f in findings if f.code == code]
    return finding


# -- tdmrep.json: content never makes the parser raise -------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('[{"location": "http://[oops/x", "tdm-reservation": 1}]', "tdmrep.invalid-location"),
        ('{"location": "http://[oops/x", "tdm-reservation": 1}', "tdmrep.not-an-array"),
        ('[{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://[bad/p"}]', None),
        ("[" * 100_000, "tdmrep.not-json"),
        ('[{"location": "/", "tdm-reservation": NaN}]', "tdmrep.not-json"),
        ('[{"location": "/", "tdm-reservation": 1e400}]', "tdmrep.invalid-reservation"),
        (b"\xff\xfe[\x00]\x00", "tdmrep.not-json"),
        (b'[{"location": "/caf\xe9"}]', "tdmrep.not-json"),
        ("", "tdmrep.not-json"),
    ],
)
def test_tdmrep_parser_reports_bad_content_and_never_raises(body, code) -> None:
    parsed = parse_tdmrep_json(body)
    if code is not None:
        assert code in codes(parsed.findings)
    assert parsed.rule_for("https://example.com/x") is None or parsed.rules


def test_tdmrep_full_url_location_is_ignored_with_the_path_to_write() -> None:
    parsed = parse_tdmrep_json('[{"location": "https://example.com/news/", "tdm-reservation": 1}]')
    assert parsed.rules == ()
    finding = only(parsed.findings, "tdmrep.invalid-location")
    assert (finding.severity, finding.line, finding.location) == (
        Severity.ERROR,
        1,
        "/0/location",
    )
    assert finding.message == (
        '"location" "https://example.com/news/" is a full URL; write the path only ("/news/"). '
        "The rule is ignored"
    )


# -- tdm-policy must be an absolute http(s) URL --------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        "https://example.com/my policy.json",  # an inner space
        "https://example.com/p.json\tx",
        "/policy.json",  # relative
        "ftp://example.com/p.json",
        "https://[bad/p.json",
    ],
)
def test_tdmrep_policy_that_is_not_an_absolute_http_url_is_ignored(policy: str) -> None:
    body = json.dumps([{"location": "/", "tdm-reservation": 1, "tdm-policy": policy}])
    parsed = parse_tdmrep_json(body)
    (rule,) = parsed.rules
    assert (rule.reservation, rule.policy) == (1, None)
    finding = only(parsed.findings, "tdmrep.invalid-policy")
    assert finding.location == "/0/tdm-policy"
    assert finding.message.endswith("is not an absolute http(s) URL; it is ignored")
    header = tdm_from_headers([("tdm-reservation", "1"), ("tdm-policy", policy)])
    assert (header.reservation, header.policy) == (1, None)


def test_tdmrep_policy_with_surrounding_spaces_is_trimmed_and_kept() -> None:
    parsed = parse_tdmrep_json(
        '[{"location": "/", "tdm-reservation": 1, "tdm-policy": " https://example.com/p.json "}]'
    )
    assert parsed.rules[0].policy == "https://example.com/p.json"


# -- first matching rule wins; the validator says when a rule can never apply ------------------


def test_tdmrep_rule_after_an_equivalent_wildcard_prefix_is_shadowed() -> None:
    parsed = parse_tdmrep_json(
        "[\n"
        '  {"location": "/blog*", "tdm-reservation": 1},\n'
        '  {"location": "/blog", "tdm-reservation": 0}\n'
        "]"
    )
    assert parsed.rule_for("https://example.com/blog").index == 0
    finding = only(parsed.findings, "tdmrep.shadowed-rule")
    assert (finding.severity, finding.line, finding.location) == (Severity.WARNING, 3, "/1")
    assert finding.message == (
        'rule 1 ("/blog") is hidden by rule 0 ("/blog*") listed before it, because the first '
        "matching rule wins; its values never apply to any URL"
    )


def test_tdmrep_narrower_rule_before_a_broader_one_is_not_shadowed() -> None:
    parsed = parse_tdmrep_json(
        '[{"location": "/blog/open/", "tdm-reservation": 0},'
        ' {"location": "/blog", "tdm-reservation": 1},'
        ' {"location": "/blo", "tdm-reservation": 1}]'
    )
    shadowed = [f for f in parsed.findings if f.code == "tdmrep.shadowed-rule"]
    assert [f.location for f in shadowed] == []
    assert parsed.rule_for("/blog/open/x").reservation == 0
    assert parsed.rule_for("/blog/x").reservation == 1


def test_tdmrep_identical_later_rule_is_reported_redundant() -> None:
    parsed = parse_tdmrep_json(
        '[{"location": "/", "tdm-reservation": 1}, {"location": "/", "tdm-reservation": 1}]'
    )
    assert only(parsed.findings, "tdmrep.shadowed-rule").message.endswith(
        "it is redundant (same values)"
    )


# -- TDMRep §4: layers override per property; findings when they disagree -----------------------


def _file_rule(body: str):
    (rule,) = parse_tdmrep_json(body).rules
    return rule


def test_tdmrep_same_policy_in_a_later_layer_is_not_an_override() -> None:
    rule = _file_rule(
        '[{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.com/p.json"}]'
    )
    header = tdm_from_headers(
        [("tdm-reservation", "1"), ("tdm-policy", "https://example.com/p.json")]
    )
    effective = effective_tdm(rule, header)
    assert codes(effective.findings) == []
    assert (effective.reservation_layer, effective.policy_layer) == ("header", "header")


def test_tdmrep_different_values_in_a_later_layer_are_reported_as_overrides() -> None:
    rule = _file_rule(
        '[{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.com/a.json"}]'
    )
    header = tdm_from_headers([("TDM-Reservation", "0")])
    meta = tdm_from_meta({"tdm-policy": ["https://example.com/b.json"]})
    effective = effective_tdm(rule, header, meta)
    assert (effective.reservation, effective.policy) == (0, "https://example.com/b.json")
    first, second = [f for f in effective.findings if f.code == "tdmrep.layer-override"]
    assert (first.severity, first.location, first.message) == (
        Severity.INFO,
        "header TDM-Reservation",
        "tdm-reservation 0 from the header overrides 1 from the file",
    )
    assert (second.location, second.message) == (
        'meta name="tdm-policy"',
        "tdm-policy https://example.com/b.json from the meta overrides "
        "https://example.com/a.json from the file",
    )


def test_tdmrep_policy_with_reservation_0_in_one_layer_is_reported_once() -> None:
    header = tdm_from_headers(
        [("tdm-reservation", "0"), ("tdm-policy", "https://example.com/p.json")]
    )
    assert codes(header.findings) == ["tdmrep.policy-with-reservation-0"]
    effective = effective_tdm(None, header)
    assert codes(effective.findings) == []  # the layer already said it
    assert effective.policy_applies is False


def test_tdmrep_policy_meeting_reservation_0_across_layers_is_reported() -> None:
    rule = _file_rule(
        '[{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.com/p.json"}]'
    )
    effective = effective_tdm(rule, tdm_from_headers([("tdm-reservation", "0")]))
    finding = only(effective.findings, "tdmrep.policy-with-reservation-0")
    assert finding.message == (
        "tdm-policy from the file meets tdm-reservation 0 from the header; agents do not "
        "process the policy"
    )
    assert finding.location == "tdmrep.json rule 0"


def test_tdmrep_policy_without_any_reservation_is_reported() -> None:
    effective = effective_tdm(None, tdm_from_meta({"tdm-policy": ["https://example.com/p.json"]}))
    assert effective.reservation is None
    assert codes(effective.findings) == ["tdmrep.policy-without-reservation"]


def test_tdmrep_absent_later_layer_never_resets_an_earlier_value() -> None:
    rule = _file_rule('[{"location": "/", "tdm-reservation": 1}]')
    effective = effective_tdm(rule, tdm_from_headers([]), tdm_from_meta({}))
    assert (effective.reservation, effective.reservation_layer) == (1, "file")
    invalid = tdm_from_headers([("tdm-reservation", "yes")])
    assert effective_tdm(rule, invalid).reservation == 1
    assert only(invalid.findings, "tdmrep.invalid-reservation").message == (
        "header tdm-reservation: tdm-reservation 'yes' is neither 0 nor 1, so it is unset"
    )


# -- what the publisher reads: code, line, JSON Pointer and message ----------------------------


def _found(body: str) -> list[tuple[str, int | None, str | None, str]]:
    return [(f.code, f.line, f.location, f.message) for f in parse_tdmrep_json(body).findings]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "<html><body>Not found</body></html>",
            (
                "tdmrep.not-json",
                1,
                None,
                "tdmrep.json is not valid JSON (Expecting value): "
                "it looks like HTML (an error page?)",
            ),
        ),
        (
            '[{"location": "/", "tdm-reservation": 1},]',
            (
                "tdmrep.not-json",
                1,
                None,
                "tdmrep.json is not valid JSON (Expecting value): remove the trailing comma",
            ),
        ),
        (  # the ",]" is inside a string that holds an escaped quote: no trailing-comma hint
            '{"a": "q\\",]"',
            ("tdmrep.not-json", 1, None, "tdmrep.json is not valid JSON (Expecting ',' delimiter)"),
        ),
        (
            '{"x": 1, "y": 2}',
            (
                "tdmrep.not-an-array",
                None,
                None,
                "tdmrep.json is a JSON object, not an array of rules",
            ),
        ),
        (
            "[\n1.5]",
            (
                "tdmrep.rule-not-object",
                2,
                "/0",
                "array entry 0 is a JSON number, not a rule object; it is ignored",
            ),
        ),
        (
            '[\n{"location": "/", "location": "/a", "tdm-reservation": 1}]',
            (
                "tdmrep.duplicate-key",
                2,
                "/0/location",
                'rule repeats the key "location"; the last value is used',
            ),
        ),
        (
            '[\n{"location": 5, "tdm-reservation": 1}]',
            (
                "tdmrep.invalid-location",
                2,
                "/0/location",
                '"location" is 5, not a path pattern; the rule is ignored',
            ),
        ),
        (
            '[\n{"location": "news/", "tdm-reservation": 1}]',
            (
                "tdmrep.invalid-location",
                2,
                "/0/location",
                '"location" "news/" does not start with "/"; the rule is ignored',
            ),
        ),
        (
            '[\n{"location": "/", "tdm-reservation": "1"}]',
            (
                "tdmrep.invalid-reservation",
                2,
                "/0/tdm-reservation",
                '"tdm-reservation" is "1"; only the numbers 0 and 1 are valid, so it is unset',
            ),
        ),
        (
            '[\n{"location": "/", "tdm-reservation": 2}]',
            (
                "tdmrep.invalid-reservation",
                2,
                "/0/tdm-reservation",
                '"tdm-reservation" is 2; only 0 and 1 are valid, so it is unset',
            ),
        ),
    ],
)
def test_tdmrep_file_findings_name_the_line_pointer_and_problem(body, expected) -> None:
    assert _found(body) == [expected]


def test_tdmrep_unreadable_file_is_marked_unreadable() -> None:
    assert parse_tdmrep_json("<html></html>").readable is False
    assert parse_tdmrep_json('{"location": "/"}').readable is False
    assert parse_tdmrep_json("[]").readable is True


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            [("TDM-a", "1")],
            (
                "tdmrep.obsolete-header",
                "header TDM-a",
                "header TDM-a: 1 uses an obsolete name; it is ignored (use tdm-reservation)",
            ),
        ),
        (
            [("X-TDM-Policy", "x")],
            (
                "tdmrep.nonstandard-name",
                "header X-TDM-Policy",
                "header X-TDM-Policy is not a TDMRep header; it is ignored "
                "(did you mean tdm-policy?)",
            ),
        ),
        (
            [("tdm-reservation", "1"), ("tdm-reservation", "0")],
            (
                "tdmrep.conflicting-values",
                "header tdm-reservation",
                "tdm-reservation is given 2 times with different values (1, 0); treated as unset",
            ),
        ),
        (
            [("tdm-reservation", "2")],
            (
                "tdmrep.invalid-reservation",
                "header tdm-reservation",
                "header tdm-reservation: tdm-reservation '2' is neither 0 nor 1, so it is unset",
            ),
        ),
    ],
)
def test_tdmrep_header_findings_name_the_header_and_problem(headers, expected) -> None:
    values = tdm_from_headers(headers)
    assert [(f.code, f.location, f.message) for f in values.findings] == [expected]


def test_tdmrep_override_names_the_layer_when_the_value_has_no_location() -> None:
    rule = _file_rule('[{"location": "/", "tdm-reservation": 1}]')
    effective = effective_tdm(rule, TdmRepValues(layer="header", reservation=0))
    assert [(f.location, f.message) for f in effective.findings] == [
        ("header tdm-reservation", "tdm-reservation 0 from the header overrides 1 from the file")
    ]
    meta = effective_tdm(rule, None, TdmRepValues(layer="meta", reservation=0))
    assert meta.findings[0].location == 'meta name="tdm-reservation"'


def test_tdmrep_unterminated_array_gets_no_trailing_comma_hint() -> None:
    assert _found("[1, 2") == [
        ("tdmrep.not-json", 1, None, "tdmrep.json is not valid JSON (Expecting ',' delimiter)")
    ]


def test_tdmrep_effective_values_keep_what_each_layer_wrote() -> None:
    rule = _file_rule(
        '[{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://example.com/p.json"}]'
    )
    from_file = effective_tdm(rule)
    assert from_file.reservation_raw == from_file.policy_raw == rule.raw
    assert from_file.policy_location == "tdmrep.json rule 0"
    header = TdmRepValues(layer="header", policy="https://example.com/q.json")
    overridden = effective_tdm(rule, header)
    assert overridden.policy_raw == "tdm-policy: https://example.com/q.json"
    assert [(f.location, f.message) for f in overridden.findings] == [
        (
            "header tdm-policy",
            "tdm-policy https://example.com/q.json from the header overrides "
            "https://example.com/p.json from the file",
        )
    ]


def test_tdmrep_policy_with_reservation_0_in_the_file_is_not_repeated_by_a_header_0() -> None:
    # The file rule already reports its own policy + 0; a header repeating 0 adds nothing.
    rule = _file_rule(
        '[{"location": "/", "tdm-reservation": 0, "tdm-policy": "https://example.com/p.json"}]'
    )
    effective = effective_tdm(rule, tdm_from_headers([("tdm-reservation", "0")]))
    assert codes(effective.findings) == []
    assert (effective.reservation, effective.reservation_layer) == (0, "header")
    # A header policy meeting the file's 0 is a new combination, reported once.
    header = tdm_from_headers([("tdm-policy", "https://example.com/q.json")])
    assert codes(effective_tdm(rule, header).findings) == [
        "tdmrep.layer-override",
        "tdmrep.policy-with-reservation-0",
    ]


# -- found by the re-run on the 0.2 code (SEED=18) -------------------------------------------------


def test_tdmrep_identical_location_after_an_unrelated_prefix_rule_is_shadowed() -> None:
    """TDMRep §3.2: the first rule whose location matches wins, so a later rule with the same
    location never applies, whatever other rules come before."""
    body = json.dumps(
        [
            {"location": "/a/", "tdm-reservation": 0},
            {"location": "/bbb*c$", "tdm-reservation": 1},
            {"location": "/bbb*c$", "tdm-reservation": 0},
        ],
        indent=1,
    )
    parsed = parse_tdmrep_json(body)
    finding = only(parsed.findings, "tdmrep.shadowed-rule")
    assert (finding.severity, finding.location, finding.line) == (Severity.WARNING, "/2", 10)
    assert finding.message == (
        'rule 2 ("/bbb*c$") is hidden by rule 1 ("/bbb*c$") listed before it, because the '
        "first matching rule wins; its values never apply to any URL"
    )
    assert parsed.rule_for("https://example.com/bbb/c").index == 1


def test_tdmrep_rule_matches_a_normalized_path_by_its_location() -> None:
    (rule,) = parse_tdmrep_json('[{"location": "/blog/*.pdf$", "tdm-reservation": 1}]').rules
    assert rule.matches("/blog/2024/a.pdf")
    assert not rule.matches("/blog/a.pdf.html")
    assert not rule.matches("/news/a.pdf")


def test_tdmrep_every_layer_that_sets_a_reservation_is_listed_in_order() -> None:
    """TDMRep §4: file, then headers, then meta; each layer's value is kept with what was
    written and where, the last one being the effective value."""
    (rule,) = parse_tdmrep_json('[{"location": "/", "tdm-reservation": 1}]').rules
    header = tdm_from_headers({"tdm-reservation": "0"})
    meta = tdm_from_meta({"tdm-reservation": ["1"]})
    effective = effective_tdm(rule, header, meta)
    assert [tuple(layer) for layer in effective.reservations] == [
        (1, "file", '{"location": "/", "tdm-reservation": 1}', "tdmrep.json rule 0"),
        (0, "header", "tdm-reservation: 0", "header tdm-reservation"),
        (1, "meta", "tdm-reservation: 1", 'meta name="tdm-reservation"'),
    ]
    assert (effective.reservation, effective.reservation_layer) == (1, "meta")
