"""IETF aipref usage preferences (``Content-Usage: train-ai=n, ai-use=n, search=y``).

Vocabulary: draft-ietf-aipref-vocab-08 (14 September 2026; :data:`VOCAB_REVISION`): labels
``train-ai`` (training generative AI models, §4.1), ``ai-use`` (input to a generative AI model,
not provided directly by the user, §4.2) and ``search`` (§4.3, which overrides the other
categories for a use that qualifies as Search); values are the Tokens ``y`` / ``n``; anything
else is "unknown", not an error (§6.5); unknown labels are ignored (§6.4). Attachment:
draft-ietf-aipref-attach-05 (HTTP header field, and a robots.txt rule with an optional path).
The value is an RFC 9651 Dictionary, parsed with ``http-sf``.

Labels of earlier revisions (-01 ... -07) are ignored by vocab-08; we also read them, as the
revision that defined them did, into :attr:`ContentUsage.legacy` -- only for categories the
current labels leave unknown (docs/record.md, "Content-Usage labels of earlier drafts").
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
    "LEGACY_LABELS",
    "VOCAB_REVISION",
    "ContentUsage",
    "LegacyLabel",
    "combine_content_usages",
    "parse_content_usage",
    "split_robots_content_usage",
]

# The revision of the vocabulary this module implements; every record names it (aipref_vocab).
VOCAB_REVISION = "draft-ietf-aipref-vocab-08"
KNOWN_LABELS = ("train-ai", "ai-use", "search")  # vocab-08 §4, Table 1
_ALL_CATEGORIES = KNOWN_LABELS


@dataclass(frozen=True, slots=True)
class LegacyLabel:
    """A label of an earlier vocabulary revision and the vocab-08 categories it covered.

    ``rank``: how general it was in its revision's hierarchy (0 = a leaf). Those revisions let a
    more specific category's statement win over its parent's (vocab-01 §7, -02 §7, -03/-04 §5:
    an unstated category falls back to its parent), so within one value the lowest rank wins.
    """

    revisions: str
    meaning: str
    categories: tuple[str, ...]
    rank: int


# Every label of vocab-01 ... -07 that vocab-08 no longer has (signals.md §6.1; the revisions'
# own texts, ietf-wg-aipref/drafts tags draft-ietf-aipref-vocab-01 ... -07). train-ai, search
# and ai-use (-02) kept their labels and are read as vocab-08 defines them.
LEGACY_LABELS: Mapping[str, LegacyLabel] = MappingProxyType(
    {
        "tdm": LegacyLabel("-01", "text and data mining (all automated use)", _ALL_CATEGORIES, 2),
        "all": LegacyLabel("-02", "automated processing (all uses)", _ALL_CATEGORIES, 2),
        "bots": LegacyLabel("-03/-04", "automated processing (all uses)", _ALL_CATEGORIES, 2),
        "ai": LegacyLabel("-01", "AI training (any model)", ("train-ai",), 1),
        "ai-output": LegacyLabel(
            "-04",
            "AI output (generating outputs, search results included)",
            ("ai-use", "search"),
            1,
        ),
        "genai": LegacyLabel("-01", "generative AI training", ("train-ai",), 0),
        "train-genai": LegacyLabel("-02/-03", "generative AI training", ("train-ai",), 0),
        "inference": LegacyLabel("-01", "input to a trained model in operation", ("ai-use",), 0),
    }
)
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
        "The aipref vocabulary (draft-ietf-aipref-vocab-08) defines train-ai, ai-use and search "
        "and requires other labels to be ignored. Labels of earlier drafts (tdm, ai, genai, "
        "inference, all, train-genai, bots, ai-output) are still read as their draft defined "
        "them, but only for a category the current labels leave unknown, and the evidence says "
        "so; any other key is ignored."
    ),
    fix="Use train-ai, ai-use and search (bots=n becomes train-ai=n, ai-use=n, search=n).",
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
    """One Content-Usage header value or robots.txt rule.

    ``values``: the vocab-08 reading (label -> allowed), exactly as the draft specifies.
    ``legacy``: categories the current labels leave unknown, read from labels of earlier
    revisions: category -> (allowed, the label that said it).
    """

    raw: str
    line: int | None
    location: str | None
    path: PathPattern | None = None
    values: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    findings: tuple[Finding, ...] = ()
    legacy: Mapping[str, tuple[bool, str]] = field(default_factory=lambda: MappingProxyType({}))


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
    legacy_said: dict[str, bool] = {}
    for label, member in parsed.items():
        item = member[0] if isinstance(member, tuple) else member
        # §6.5: only the Tokens y and n state a preference; parameters are ignored (§6.5.2).
        allowed = _TOKENS.get(str(item)) if isinstance(item, http_sf.Token) else None
        if label not in KNOWN_LABELS:
            findings.append(
                UNKNOWN_LABEL(_unknown_label_message(label), line=line, location=location)
            )
            if label in LEGACY_LABELS and allowed is not None:
                legacy_said[label] = allowed
            continue
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
        legacy=MappingProxyType(_read_legacy(legacy_said, values)),
    )


def _read_legacy(
    said: Mapping[str, bool], current: Mapping[str, bool]
) -> dict[str, tuple[bool, str]]:
    """The categories ``current`` leaves unknown, from earlier labels: per category the most
    specific label that covers it (lowest rank); at equal rank the most restrictive value."""
    out: dict[str, tuple[bool, str]] = {}
    for category in KNOWN_LABELS:
        if category in current:
            continue
        covering = [
            (LEGACY_LABELS[label].rank, allowed, label)
            for label, allowed in said.items()
            if category in LEGACY_LABELS[label].categories
        ]
        if covering:
            _rank, allowed, label = min(covering)  # False < True: n wins a tie
            out[category] = (allowed, label)
    return out


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
    legacy = LEGACY_LABELS.get(label)
    if legacy is not None:
        return (
            f"Content-Usage label {label!r} is from aipref vocabulary draft {legacy.revisions} "
            f"({legacy.meaning}); {VOCAB_REVISION} ignores it; read as "
            f"{', '.join(legacy.categories)} where the current labels say nothing"
        )
    return f"unknown Content-Usage label {label!r} ignored (known: train-ai, ai-use, search)"


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
