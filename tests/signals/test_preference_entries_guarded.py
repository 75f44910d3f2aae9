"""Content-Signal (Cloudflare Content Signals Policy) and Content-Usage (aipref vocab/attach)
entries: one bad entry never hides the others (issue #18), and the findings' wording."""

from __future__ import annotations

import pytest

from reservation_crawler.model.findings import Severity
from reservation_crawler.signals.aipref import combine_content_usages, parse_content_usage
from reservation_crawler.signals.contentsignal import (
    combine_content_signals,
    parse_content_signal,
)
from reservation_crawler.signals.robots import parse


def by_code(findings):
    return {f.code: f for f in findings}


def known(signal) -> dict[str, bool]:
    """The values of the three keys the policy defines (unknown keys are recorded, not read)."""
    return {k: v for k, v in signal.values.items() if k in ("search", "ai-input", "ai-train")}


# -- Content-Signal: "key=yes|no" entries separated by commas ----------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "search, ai-train=no",  # an entry without "=" first
        "=yes, ai-train=no",  # no key
        "search=, ai-train=no",  # no value
        ",, ai-train=no",  # empty entries
        "bots=no, ai-train=no",  # an unknown key
        "search=maybe, ai-train=no",  # a known key with an invalid value
        "use=reference, ai-train=no",  # Cloudflare's use= (not interpreted)
    ],
)
def test_contentsignal_a_bad_or_unknown_entry_does_not_hide_the_next_one(value: str) -> None:
    assert known(parse_content_signal(value)) == {"ai-train": False}


def test_contentsignal_every_valid_entry_is_read_around_bad_ones() -> None:
    signal = parse_content_signal("search=yes, oops, ai-input=maybe, ai-train=no, x=y")
    assert known(signal) == {"search": True, "ai-train": False}


def test_contentsignal_upper_case_entry_is_read_and_flagged() -> None:
    signal = parse_content_signal("AI-Train=no", line=4, location="robots.txt")
    assert dict(signal.values) == {"ai-train": False}
    finding = by_code(signal.findings)["content-signal.not-lowercase"]
    assert (finding.severity, finding.line, finding.location) == (Severity.INFO, 4, "robots.txt")
    assert finding.message == "Content-Signal entry 'AI-Train=no' is not lower-case"
    value_only = parse_content_signal("ai-train=NO")
    assert dict(value_only.values) == {"ai-train": False}
    assert "content-signal.not-lowercase" in by_code(value_only.findings)
    assert "content-signal.not-lowercase" not in by_code(
        parse_content_signal("ai-train=no").findings
    )


def test_contentsignal_findings_name_the_entry_and_the_fix() -> None:
    signal = parse_content_signal("search=y, oops, train=no, ai-train=yes, ai-train=no", line=7)
    found = by_code(signal.findings)
    assert found["content-signal.invalid-value"].message == (
        "Content-Signal search=y: y/n is the IETF Content-Usage vocabulary; Content-Signal uses "
        "yes/no; entry ignored"
    )
    assert found["content-signal.malformed"].message == "cannot read Content-Signal entry 'oops'"
    assert found["content-signal.unknown-key"].message == (
        "unknown Content-Signal key 'train' (known: search, ai-input, ai-train)"
    )
    assert found["content-signal.conflicting-values"].message == (
        "Content-Signal key 'ai-train' is given both yes and no; reading no"
    )
    assert {f.line for f in signal.findings} == {7}
    assert known(signal) == {"ai-train": False}


def test_contentsignal_in_robots_txt_several_lines_combine_most_restrictive() -> None:
    txt = parse(
        "User-agent: *\nContent-Signal: search=yes\nContent-Signal: bogus, ai-train=no\n"
        "Content-Signal: search=no\nAllow: /\n"
    )
    signals = txt.content_signals("AnyBot")
    assert [s.line for s in signals] == [2, 3, 4]
    assert combine_content_signals(signals) == {"search": False, "ai-train": False}


# -- Content-Usage: an RFC 9651 dictionary of y/n tokens ---------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "bots=n, train-ai=n",  # a label of an older draft first
        "train-genai=y, train-ai=n",
        "search=yes, train-ai=n",  # a value that is not y/n
        'search="n", train-ai=n',  # a string, not a token
        "search, train-ai=n",  # a bare label (boolean true)
        "search=?1, train-ai=n",
    ],
)
def test_aipref_an_unknown_label_or_value_does_not_hide_the_next_one(value: str) -> None:
    assert dict(parse_content_usage(value).values) == {"train-ai": False}


def test_aipref_unknown_labels_and_values_are_ignored_not_errors() -> None:
    usage = parse_content_usage("ai=n, train-ai=y, search=n", line=3)
    assert dict(usage.values) == {"train-ai": True, "search": False}
    (finding,) = usage.findings
    assert (finding.code, finding.line) == ("content-usage.unknown-label", 3)
    assert "draft" in finding.message and "'ai'" in finding.message


def test_aipref_duplicate_label_last_one_counts() -> None:
    usage = parse_content_usage("train-ai=n, train-ai=y")
    assert dict(usage.values) == {"train-ai": True}
    (finding,) = usage.findings
    assert (
        finding.message
        == "Content-Usage label 'train-ai' given more than once; the last one counts"
    )


def test_aipref_parse_failure_makes_every_preference_unknown() -> None:
    usage = parse_content_usage("Train-AI=n, search=n", line=2)
    assert dict(usage.values) == {}
    (finding,) = usage.findings
    assert (finding.code, finding.severity, finding.line) == (
        "content-usage.malformed",
        Severity.WARNING,
        2,
    )
    assert "labels must be lower-case" in finding.message
    assert finding.message.endswith("all preferences unknown")


def test_aipref_value_findings_say_what_was_written() -> None:
    usage = parse_content_usage('train-ai=yes, search="n"')
    messages = sorted(f.message for f in usage.findings)
    assert messages == [
        "Content-Usage search: the string 'n' is not y or n; preference unknown",
        "Content-Usage train-ai: 'yes' is not y or n (yes/no are Content-Signal words; aipref "
        "uses y/n); preference unknown",
    ]


# -- more aipref edges found by the mutation run ---------------------------------------------


def test_aipref_combining_statements_any_n_wins_in_either_order() -> None:
    n, y = parse_content_usage("train-ai=n"), parse_content_usage("train-ai=y, search=y")
    assert combine_content_usages([n, y]) == {"train-ai": False, "search": True}
    assert combine_content_usages([y, n]) == {"train-ai": False, "search": True}


def test_aipref_robots_rule_path_ends_at_the_first_space_or_tab_only() -> None:
    txt = parse(
        "User-agent: *\nAllow: /\n"
        "Content-Usage: /Xfiles/ train-ai=n\n"
        "Content-Usage: /tabbed/\ttrain-ai=n\n"
        "Content-Usage: /nbsp/ train-ai=n\u00a0\n"
    )
    (xfiles,) = txt.content_usages("/Xfiles/a", "AnyBot")
    assert (xfiles.path.raw, dict(xfiles.values)) == ("/Xfiles/", {"train-ai": False})
    (tabbed,) = txt.content_usages("/tabbed/a", "AnyBot")
    assert dict(tabbed.values) == {"train-ai": False}
    # RFC 9651: a no-break space after the dictionary is a parse error, so nothing is known.
    (nbsp,) = txt.content_usages("/nbsp/a", "AnyBot")
    assert dict(nbsp.values) == {}
    assert txt.content_usages("/other", "AnyBot") == ()


def test_aipref_findings_carry_the_line_location_and_wording() -> None:
    def found(value: str) -> list[tuple[str, int | None, str | None, str]]:
        usage = parse_content_usage(value, line=5, location="robots.txt")
        assert usage.raw == value
        return [(f.code, f.line, f.location, f.message) for f in usage.findings]

    assert found("") == [
        ("content-usage.malformed", 5, "robots.txt", "empty Content-Usage preference")
    ]
    ((code, line, location, message),) = found("train-ai=n;;")
    assert (code, line, location) == ("content-usage.malformed", 5, "robots.txt")
    assert message.startswith("Content-Usage 'train-ai=n;;' is not a structured-field dictionary (")
    assert "Trailing delimiter" in message
    assert message.endswith("); all preferences unknown")
    assert "labels must be lower-case" not in found("a=B=c")[0][3]
    assert found("train-ai=no, search") == [
        (
            "content-usage.invalid-value",
            5,
            "robots.txt",
            "Content-Usage train-ai: 'no' is not y or n (yes/no are Content-Signal words; "
            "aipref uses y/n); preference unknown",
        ),
        (
            "content-usage.invalid-value",
            5,
            "robots.txt",
            "Content-Usage search: a bare label (boolean true) is not y or n; preference unknown",
        ),
    ]
    ((_c, _l, _loc, false_message),) = found("search=?0")
    assert "bare label" not in false_message
    assert found("train-ai=x") == [
        (
            "content-usage.invalid-value",
            5,
            "robots.txt",
            "Content-Usage train-ai: 'x' is not y or n; preference unknown",
        )
    ]
    assert [(c, line, loc) for c, line, loc, _m in found("train-ai=n, train-ai=y")] == [
        ("content-usage.duplicate-label", 5, "robots.txt")
    ]
    assert [(c, line, loc) for c, line, loc, _m in found("ai=n")] == [
        ("content-usage.unknown-label", 5, "robots.txt")
    ]


def test_contentsignal_findings_carry_the_line_location_and_wording() -> None:
    def found(value: str) -> list[tuple[str, int | None, str | None, str]]:
        signal = parse_content_signal(value, line=3, location="header Content-Signal")
        return [(f.code, f.line, f.location, f.message) for f in signal.findings]

    where = (3, "header Content-Signal")
    assert found("  ") == [("content-signal.malformed", *where, "empty Content-Signal value")]
    assert found("use=reference") == []  # a use level since 2026 (tests/test_content_signal_use.py)
    assert found("use=partial") == [
        (
            "content-signal.invalid-use",
            *where,
            "Content-Signal 'use=partial': expected immediate, reference or full; ignored",
        )
    ]
    hints = {
        'ai-train="no"': "write yes/no without quotes",
        'search="yes"': "write yes/no without quotes",
        "ai-train=disallowed": "Content-Signal uses yes/no, not allow/disallow",
        "ai-train=Allowed": "Content-Signal uses yes/no, not allow/disallow",
        "ai-train=n": "y/n is the IETF Content-Usage vocabulary; Content-Signal uses yes/no",
        "ai-train=maybe": "expected yes or no",
        "ai-train=no=yes": "expected yes or no",  # the value runs from the first "="
    }
    for entry, hint in hints.items():
        invalid = [f for f in found(entry) if f[0] == "content-signal.invalid-value"]
        key, _, value = entry.partition("=")
        assert invalid == [
            (
                "content-signal.invalid-value",
                *where,
                f"Content-Signal {key}={value}: {hint}; entry ignored",
            )
        ], entry


def test_aipref_unknown_label_with_any_token_value_keeps_the_known_ones() -> None:
    # "foo=X" is a valid dictionary member (an unknown label), so search=n still counts.
    txt = parse("User-agent: *\nAllow: /\nContent-Usage: search=n, foo=X\n")
    assert combine_content_usages(txt.content_usages("/a", "AnyBot")) == {"search": False}


def test_aipref_non_token_values_are_shown_as_written() -> None:
    (finding,) = parse_content_usage("train-ai=5").findings
    assert finding.message == "Content-Usage train-ai: '5' is not y or n; preference unknown"


# -- Content-Signal use= given twice, and a key given yes and no (docs/record.md) ---------------

ROBOTS_URL = "https://example.com/robots.txt"


@pytest.mark.parametrize(
    ("value", "first", "then", "reading"),
    [
        ("use=full, use=immediate", "full", "immediate", "immediate"),
        ("use=immediate, use=reference", "immediate", "reference", "immediate"),
        ("use=reference, use=full", "reference", "full", "reference"),
    ],
)
def test_content_signal_use_given_twice_reads_the_more_restrictive(value, first, then, reading):
    """use= is a ceiling (immediate < reference < full): two levels read as the lower, in
    either order, with a warning that names both, where they were read."""
    signal = parse_content_signal(value, line=4, location=ROBOTS_URL)
    assert signal.use == reading
    (finding,) = signal.findings
    assert (finding.code, finding.severity, finding.line, finding.location) == (
        "content-signal.conflicting-values",
        Severity.WARNING,
        4,
        ROBOTS_URL,
    )
    assert finding.message == (
        f"Content-Signal key 'use' is given {first} and {then}; reading the more restrictive"
    )


def test_more_restrictive_use_of_one_level_is_that_level() -> None:
    from reservation_crawler.signals.contentsignal import more_restrictive_use

    assert more_restrictive_use("reference", None) == "reference"
    assert more_restrictive_use(None, "full") == "full"
    assert more_restrictive_use(None, None) is None


def test_content_signal_key_given_yes_and_no_reads_no_with_its_location() -> None:
    signal = parse_content_signal("ai-train=yes, ai-train=no", line=4, location=ROBOTS_URL)
    assert dict(signal.values) == {"ai-train": False}
    (finding,) = signal.findings
    assert (finding.code, finding.line, finding.location) == (
        "content-signal.conflicting-values",
        4,
        ROBOTS_URL,
    )
    assert finding.message == "Content-Signal key 'ai-train' is given both yes and no; reading no"


def test_content_signals_combined_no_on_any_line_wins() -> None:
    """Several Content-Signal lines (one key per line is common): a no is never undone by a
    later yes."""
    lines = [parse_content_signal("ai-train=no"), parse_content_signal("ai-train=yes, search=yes")]
    assert combine_content_signals(lines) == {"ai-train": False, "search": True}


def test_robots_content_usage_value_is_kept_whole_after_the_path() -> None:
    """aipref-attach: "Content-Usage: <path> <value>"; only the blanks between them are
    dropped. A token that merely starts with n ("nX") states no preference (vocab §6.5)."""
    from reservation_crawler.signals.aipref import split_robots_content_usage

    assert split_robots_content_usage("/a train-ai=nX") == ("/a", "train-ai=nX")
    assert split_robots_content_usage("/a \t train-ai=n") == ("/a", "train-ai=n")
    txt = parse("User-agent: *\nContent-Usage: /a train-ai=nX\n")
    (usage,) = txt.content_usages("https://example.com/a/x", "GPTBot")
    assert dict(usage.values) == {}
    assert [f.code for f in usage.findings] == ["content-usage.invalid-value"]
