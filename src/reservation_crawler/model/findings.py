"""Findings: what a parser or the decision noticed about a publisher's signals.

Every finding has a stable code declared once as a :class:`FindingSpec` in the module that
produces it; ``apps.catalogue.catalogue()`` collects them all (``validate`` and
``docs/findings.md`` read it).
Parsers never raise on content: they return findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from reservation_crawler.model.codec import shape

# A finding message is read by a person: whatever a hostile file repeats, it stays this short.
MAX_MESSAGE_CHARS = 1_000
MAX_LISTED = 10


def listing(items: Iterable[object], *, limit: int = MAX_LISTED) -> str:
    """``a, b, c`` with at most ``limit`` items shown, then "and N more"."""
    shown: list[str] = []
    hidden = 0
    for item in items:
        if len(shown) < limit:
            shown.append(str(item))
        else:
            hidden += 1
    text = ", ".join(shown)
    return f"{text} and {hidden} more" if hidden else text


def bounded(message: str) -> str:
    """``message`` cut at ``MAX_MESSAGE_CHARS``, saying how much was left out."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}… ({len(message) - MAX_MESSAGE_CHARS} more characters)"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@shape(omit_default=("line", "location"))
@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about one signal source, with where it was seen."""

    code: str
    severity: Severity
    source: str
    message: str
    line: int | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class FindingSpec:
    """The catalogue entry of one finding code; calling it makes a :class:`Finding`.

    ``title`` is the one-line explanation used when no specific message is given,
    ``explanation`` says what it means in plain words, ``fix`` how a publisher fixes it and
    ``example`` shows an input that triggers it.
    """

    code: str
    severity: Severity
    source: str
    title: str
    explanation: str
    fix: str
    example: str = ""

    def __call__(
        self, message: str | None = None, *, line: int | None = None, location: str | None = None
    ) -> Finding:
        return Finding(
            code=self.code,
            severity=self.severity,
            source=self.source,
            message=bounded(message or self.title),
            line=line,
            location=location,
        )


def spec_maker(source: str, prefix: str | None = None) -> Callable[..., FindingSpec]:
    """The ``_spec(name, severity, title, explanation, fix, example)`` helper of one producing
    module: codes ``<prefix>.<name>`` (``prefix`` defaults to ``source``)."""
    head = prefix or source

    def make(
        name: str, severity: Severity, title: str, explanation: str, fix: str, example: str = ""
    ) -> FindingSpec:
        return FindingSpec(f"{head}.{name}", severity, source, title, explanation, fix, example)

    return make
