"""IETF aipref usage preferences (``Content-Usage: train-ai=n, search=y``).

Vocabulary: draft-ietf-aipref-vocab-07 (labels ``train-ai`` and ``search``; values are the
Tokens ``y`` / ``n``; anything else is "unknown", not an error). Attachment:
draft-ietf-aipref-attach-05 (HTTP header field, and a robots.txt rule with an optional path).
The value is an RFC 9651 Dictionary, parsed with ``http-sf``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import http_sf

from reservation_crawler.model.findings import Finding, FindingSpec, Severity
from reservation_crawler.signals.patterns import PathPattern, compile_pattern

__all__ = [
    "KNOWN_LABELS",
    "ContentUsage",
    "combine_content_usages",
    "parse_content_usage",
    "split_robots_content_usage",
]

KNOWN_LABELS = ("train-ai", "search")
# Labels of earlier drafts (vocab-01 .. -04), recognised only to explain why they are ignored.
_LEGACY_LABELS = {
    "tdm": "-01",
    "ai": "-01",
    "genai": "-01",
    "inference": "-01",
    "all": "-02",
    "train-genai": "-02/-03",
    "ai-use": "-02",
    "bots": "-03/-04",
    "ai-output": "-04",
}
_SOURCE = "content-usage"

MALFORMED = FindingSpec(
    code="content-usage.malformed",
    severity=Severity.WARNING,
    source=_SOURCE,
    title="A Content-Usage value is not a valid structured-field dictionary",
    explanation=(
        "Content-Usage values are RFC 9651 dictionaries such as 'train-ai=n, search=y'. When "
        "the value cannot be parsed (upper-case keys, spaces inside a path, stray characters) "
        "the aipref vocabulary says every preference in it is unknown."
    ),
    fix="Use lower-case labels and the tokens y or n, separated by commas: train-ai=n, search=y.",
    example="Content-Usage: Train-AI=n",
)
INVALID_VALUE = FindingSpec(
    code="content-usage.invalid-value",
    severity=Severity.WARNING,
    source=_SOURCE,
    title="A Content-Usage preference is not the token y or n",
    explanation=(
        "Only the bare tokens y and n state a preference. yes/no (Content-Signal's words), "
        'quoted strings such as "n", or a label without a value leave that preference unknown.'
    ),
    fix="Write label=y or label=n.",
    example="Content-Usage: train-ai=no",
)
UNKNOWN_LABEL = FindingSpec(
    code="content-usage.unknown-label",
    severity=Severity.INFO,
    source=_SOURCE,
    title="A Content-Usage label is not in the current aipref vocabulary",
    explanation=(
        "The aipref vocabulary defines train-ai and search. Labels of earlier drafts (ai, tdm, "
        "train-genai, ai-use, bots...) and other keys are ignored, as the draft requires."
    ),
    fix="Use train-ai and/or search.",
    example="Content-Usage: ai=n",
)
DUPLICATE_LABEL = FindingSpec(
    code="content-usage.duplicate-label",
    severity=Severity.INFO,
    source=_SOURCE,
    title="A Content-Usage label appears twice in one value; the last one counts",
    explanation=(
        "In a structured-field dictionary a repeated key overrides the earlier one, so only "
        "the last preference for the label is read."
    ),
    fix="State each label once.",
    example="Content-Usage: train-ai=n, train-ai=y",
)

_TOKENS = {"y": True, "n": False}


@dataclass(frozen=True, slots=True)
class ContentUsage:
    """One Content-Usage header value or robots.txt rule."""

    raw: str
    line: int | None
    location: str | None
    path: PathPattern | None = None
    values: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    findings: tuple[Finding, ...] = ()


def split_robots_content_usage(value: str) -> tuple[str | None, str]:
    """Split a robots.txt rule value into (path, preference) per draft-ietf-aipref-attach.

    A value starting with ``/`` carries a path that runs to the first space or tab.
    """
    value = value.strip(" \t")
    if not value.startswith("/"):
        return None, value
    for index, char in enumerate(value):
        if char in " \t":
            return value[:index], value[index:].strip(" \t")
    return value, ""


def parse_content_usage(
    value: str,
    *,
    line: int | None = None,
    location: str | None = None,
    path: str | None = None,
) -> ContentUsage:
    """Read one Content-Usage preference; never raises, reports problems as findings."""
    findings: list[Finding] = []
    values: dict[str, bool] = {}
    duplicates: list[str] = []
    text = value.strip(" \t")
    try:
        parsed = http_sf.parse(
            text.encode("utf-8"),
            tltype="dictionary",
            on_duplicate_key=lambda key, _kind: duplicates.append(key),
        )
    except (http_sf.StructuredFieldError, ValueError, UnicodeError) as error:
        findings.append(MALFORMED(_malformed_message(text, error), line=line, location=location))
        parsed = {}
    if not text:
        findings = [MALFORMED("empty Content-Usage preference", line=line, location=location)]
    for key in dict.fromkeys(duplicates):
        findings.append(
            DUPLICATE_LABEL(
                f"Content-Usage label {key!r} given more than once; the last one counts",
                line=line,
                location=location,
            )
        )
    assert isinstance(parsed, dict)
    for label, member in parsed.items():
        item = member[0] if isinstance(member, tuple) else member
        if label not in KNOWN_LABELS:
            findings.append(
                UNKNOWN_LABEL(_unknown_label_message(label), line=line, location=location)
            )
            continue
        allowed = _TOKENS.get(str(item)) if isinstance(item, http_sf.Token) else None
        if allowed is None:
            findings.append(
                INVALID_VALUE(_invalid_value_message(label, item), line=line, location=location)
            )
            continue
        values[label] = allowed
    return ContentUsage(
        raw=value,
        line=line,
        location=location,
        path=compile_pattern(path) if path is not None else None,
        values=MappingProxyType(values),
        findings=tuple(findings),
    )


def combine_content_usages(usages: Iterable[ContentUsage]) -> dict[str, bool]:
    """aipref "Combining Preferences": any ``n`` wins, else any ``y``; absent stays unknown."""
    combined: dict[str, bool] = {}
    for usage in usages:
        for label, allowed in usage.values.items():
            combined[label] = combined.get(label, True) and allowed
    return combined


def _malformed_message(text: str, error: Exception) -> str:
    if text and any(char.isupper() for char in text.split("=", 1)[0]):
        return (
            f"Content-Usage {text!r}: labels must be lower-case ({error}); all preferences unknown"
        )
    return (
        f"Content-Usage {text!r} is not a structured-field dictionary ({error}); "
        "all preferences unknown"
    )


def _unknown_label_message(label: str) -> str:
    draft = _LEGACY_LABELS.get(label)
    if draft is not None:
        return (
            f"Content-Usage label {label!r} is from aipref vocabulary draft {draft}; the current "
            "vocabulary has train-ai and search only, so it is ignored"
        )
    return f"unknown Content-Usage label {label!r} ignored (known: train-ai, search)"


def _invalid_value_message(label: str, item: object) -> str:
    if item is True:
        shown = "a bare label (boolean true)"
    elif isinstance(item, str) and not isinstance(item, http_sf.Token):
        shown = f"the string {item!r}"
    else:
        shown = repr(str(item))
    hint = (
        " (yes/no are Content-Signal words; aipref uses y/n)" if str(item) in ("yes", "no") else ""
    )
    return f"Content-Usage {label}: {shown} is not y or n{hint}; preference unknown"
