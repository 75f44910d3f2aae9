"""Cloudflare Content Signals (``Content-Signal: search=yes, ai-train=no``).

The same value syntax appears as a robots.txt line inside a user-agent group and as an HTTP
response header. Keys: ``search``, ``ai-input``, ``ai-train``; values ``yes`` / ``no``; an
omitted key neither grants nor restricts (contentsignals.org policy text). Since 2026 also
``use=immediate|reference|full``: "how AI systems may consume the content", the maximum level of
use, ordered immediate < reference < full (Cloudflare changelog 2026-08-31 "Crawl endpoint now
respects the Content Signals use directive"; the managed robots.txt emits
``search=yes,ai-train=no,use=reference``). There is no formal grammar, so we read ``key=value``
entries separated by commas, keep unknown keys verbatim, and report every deviation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from reservation_crawler.model.findings import Finding, FindingSpec, Severity

__all__ = [
    "KNOWN_KEYS",
    "USE_KEY",
    "USE_LEVELS",
    "ContentSignal",
    "combine_content_signals",
    "more_restrictive_use",
    "parse_content_signal",
]

KNOWN_KEYS = ("search", "ai-input", "ai-train")  # the yes/no keys
USE_KEY = "use"
USE_LEVELS = ("immediate", "reference", "full")  # least to most permissive
_VALUES = {"yes": True, "no": False}
_SOURCE = "content-signal"

MALFORMED = FindingSpec(
    code="content-signal.malformed",
    severity=Severity.WARNING,
    source=_SOURCE,
    title="A Content-Signal entry is not of the form key=yes|no",
    explanation=(
        "Content-Signal values are comma-separated key=value entries. An entry without '=' or "
        "with an empty key or value cannot be read, so it is ignored."
    ),
    fix="Write each entry as key=yes or key=no, separated by commas.",
    example="Content-Signal: search, ai-train=no",
)
UNKNOWN_KEY = FindingSpec(
    code="content-signal.unknown-key",
    severity=Severity.INFO,
    source=_SOURCE,
    title="A Content-Signal key is not one of search, ai-input, ai-train, use",
    explanation=(
        "The Content Signals Policy defines the keys search, ai-input and ai-train, and "
        "Cloudflare added use (immediate, reference or full). Other keys (for example "
        "ai-inference) are kept verbatim as evidence but carry no defined meaning, so no "
        "decision is based on them."
    ),
    fix="Use search, ai-input or ai-train (ai-input covers answer-time use such as RAG).",
    example="Content-Signal: ai-inference=no",
)
INVALID_VALUE = FindingSpec(
    code="content-signal.invalid-value",
    severity=Severity.WARNING,
    source=_SOURCE,
    title="A Content-Signal value is not yes or no",
    explanation=(
        "Content-Signal values are yes or no. Other values (y/n, which belong to the IETF "
        "Content-Usage vocabulary, allow/disallow, true/false, quoted strings) are ignored, so "
        "the preference they were meant to express is not stated."
    ),
    fix="Write yes or no.",
    example="Content-Signal: ai-train=n",
)
NOT_LOWERCASE = FindingSpec(
    code="content-signal.not-lowercase",
    severity=Severity.INFO,
    source=_SOURCE,
    title="A Content-Signal key or value is not lower-case",
    explanation=(
        "Keys and values are defined in lower case. We read them case-insensitively, but other "
        "readers may not."
    ),
    fix="Write keys and values in lower case.",
    example="Content-Signal: AI-Train=No",
)
INVALID_USE = FindingSpec(
    code="content-signal.invalid-use",
    severity=Severity.WARNING,
    source=_SOURCE,
    title="A Content-Signal use value is not immediate, reference or full",
    explanation=(
        "use states the most an AI system may do with the content: immediate (read it for the "
        "task at hand, store and reuse nothing), reference (index it, quote short excerpts, link "
        "back) or full (summarise, reproduce, train). Any other value is ignored, so no limit "
        "is read."
    ),
    fix="Write use=immediate, use=reference or use=full.",
    example="Content-Signal: search=yes, use=partial",
)
CONFLICTING_VALUES = FindingSpec(
    code="content-signal.conflicting-values",
    severity=Severity.WARNING,
    source=_SOURCE,
    title="The same Content-Signal key is given both yes and no",
    explanation=(
        "When one key is given both values (in one line, or in several lines that apply to the "
        "same crawler) we read the most restrictive one, no, as the aipref drafts combine "
        "preferences."
    ),
    fix="State each key once.",
    example="Content-Signal: ai-train=yes, ai-train=no",
)


@dataclass(frozen=True, slots=True)
class ContentSignal:
    """One Content-Signal line or header value."""

    raw: str
    line: int | None
    location: str | None
    values: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    findings: tuple[Finding, ...] = ()
    use: str | None = None  # one of USE_LEVELS (the most restrictive given), or None
    unknown: tuple[str, ...] = ()  # entries with keys we do not know, verbatim ("ai-inference=yes")


def parse_content_signal(
    value: str, *, line: int | None = None, location: str | None = None
) -> ContentSignal:
    """Read one ``Content-Signal`` value; never raises, reports problems as findings."""
    values: dict[str, bool] = {}
    findings: list[Finding] = []
    use: str | None = None
    unknown: list[str] = []
    text = value.strip()
    if not text:
        findings.append(MALFORMED("empty Content-Signal value", line=line, location=location))
    for entry in text.split(",") if text else ():
        entry = entry.strip()
        if not entry:
            continue  # a trailing or doubled comma says nothing
        key, sep, raw_value = entry.partition("=")
        key, raw_value = key.strip(), raw_value.strip()
        if not sep or not key or not raw_value:
            findings.append(
                MALFORMED(
                    f"cannot read Content-Signal entry {entry!r}", line=line, location=location
                )
            )
            continue
        lower_key, lower_value = key.lower(), raw_value.lower()
        if lower_key != key or lower_value != raw_value:
            findings.append(
                NOT_LOWERCASE(
                    f"Content-Signal entry {entry!r} is not lower-case",
                    line=line,
                    location=location,
                )
            )
        if lower_key == USE_KEY:
            use = _read_use(use, lower_value, entry, line, location, findings)
            continue
        known = lower_key in KNOWN_KEYS
        if not known:
            unknown.append(entry)
            findings.append(
                UNKNOWN_KEY(_unknown_key_message(lower_key), line=line, location=location)
            )
        allowed = _VALUES.get(lower_value)
        if allowed is None:
            if known:  # an unknown key's values are not ours to judge (use=reference)
                findings.append(
                    INVALID_VALUE(
                        _invalid_value_message(key, raw_value), line=line, location=location
                    )
                )
            continue
        previous = values.get(lower_key)
        if previous is not None and previous != allowed:
            findings.append(
                CONFLICTING_VALUES(
                    f"Content-Signal key {lower_key!r} is given both yes and no; reading no",
                    line=line,
                    location=location,
                )
            )
            allowed = False
        values[lower_key] = allowed
    return ContentSignal(
        raw=value,
        line=line,
        location=location,
        values=MappingProxyType(values),
        findings=tuple(findings),
        use=use,
        unknown=tuple(unknown),
    )


def _read_use(
    previous: str | None,
    level: str,
    entry: str,
    line: int | None,
    location: str | None,
    findings: list[Finding],
) -> str | None:
    """The use level after ``entry``: an unknown level is reported and ignored; given twice,
    the more restrictive one counts (as for the yes/no keys)."""
    if level not in USE_LEVELS:
        findings.append(
            INVALID_USE(
                f"Content-Signal {entry!r}: expected immediate, reference or full; ignored",
                line=line,
                location=location,
            )
        )
        return previous
    if previous is not None and previous != level:
        findings.append(
            CONFLICTING_VALUES(
                f"Content-Signal key 'use' is given {previous} and {level}; reading the more "
                "restrictive",
                line=line,
                location=location,
            )
        )
        return more_restrictive_use(previous, level)
    return level


def more_restrictive_use(first: str | None, second: str | None) -> str | None:
    """The lower of two use levels (immediate < reference < full); None when neither is given."""
    if first is None or second is None:
        return first if second is None else second
    return min(first, second, key=USE_LEVELS.index)


def combine_content_signals(signals: Iterable[ContentSignal]) -> dict[str, bool]:
    """Accumulate several lines (one key per line is common): ``no`` wins over ``yes``."""
    combined: dict[str, bool] = {}
    for signal in signals:
        for key, allowed in signal.values.items():
            combined[key] = combined.get(key, True) and allowed
    return combined


def _unknown_key_message(key: str) -> str:
    return f"unknown Content-Signal key {key!r} (known: search, ai-input, ai-train)"


def _invalid_value_message(key: str, value: str) -> str:
    lowered = value.lower().strip('"')
    if lowered in ("y", "n"):
        hint = "y/n is the IETF Content-Usage vocabulary; Content-Signal uses yes/no"
    elif lowered in ("allow", "disallow", "allowed", "disallowed"):
        hint = "Content-Signal uses yes/no, not allow/disallow"
    elif lowered in ("yes", "no"):
        hint = "write yes/no without quotes"
    else:
        hint = "expected yes or no"
    return f"Content-Signal {key}={value}: {hint}; entry ignored"
