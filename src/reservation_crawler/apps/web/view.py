"""What the report page shows, derived from a ``ValidationReport`` (pure, no I/O).

- :func:`spec_links`: where a finding's rule is written down: every "RFC 9309 §2.2.1" (or
  "TDMRep §4") its explanation cites, else the specification of the finding's source;
- :func:`annotated_files`: each fetched policy file, line by line, with the findings about each
  line attached to it (as Search Console's robots.txt report does);
- :func:`host_variants` / :func:`variant_differences`: the http/https and www/apex forms of a
  site, and what their reports disagree on.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from reservation_crawler.apps.validate import (
    Occurrence,
    ReportFinding,
    SourceFile,
    ValidationReport,
)
from reservation_crawler.core.policy import AITXT, ROBOTS, TDMREP
from reservation_crawler.model.findings import Severity

__all__ = [
    "AnnotatedFile",
    "AnnotatedLine",
    "Mark",
    "SpecLink",
    "VariantRow",
    "annotated_files",
    "file_anchor",
    "finding_anchor",
    "host_variants",
    "in_file",
    "line_anchors",
    "spec_links",
    "variant_differences",
]

RFC_URL = "https://www.rfc-editor.org/rfc/rfc{number}.html"
# The documents each finding source follows (the revisions docs/signals.md and the parsers name).
PROJECT_DOCS = "https://github.com/reservation-crawler/reservation-crawler/blob/main/docs/"
TDMREP_URL = "https://www.w3.org/community/reports/tdmrep/CG-FINAL-tdmrep-20240510/"
SOURCE_SPECS: Mapping[str, tuple[str, str]] = {
    ROBOTS: ("RFC 9309 (Robots Exclusion Protocol)", RFC_URL.format(number=9309)),
    "fetch": ("RFC 9309 §2.3 (access method)", RFC_URL.format(number=9309) + "#section-2.3"),
    AITXT: (
        "Spawning ai.txt",
        "https://spawning.substack.com/p/aitxt-a-new-way-for-websites-to-set",
    ),
    "tdmrep": ("W3C TDMRep (CG Final Report, 2024-05-10)", TDMREP_URL),
    TDMREP: ("W3C TDMRep (CG Final Report, 2024-05-10)", TDMREP_URL),
    "content-signal": ("Content Signals Policy", "https://contentsignals.org/"),
    "content-usage": (
        "IETF aipref vocabulary",
        "https://datatracker.ietf.org/doc/draft-ietf-aipref-vocab/",
    ),
    "page": (
        "robots meta tag and X-Robots-Tag",
        "https://developers.google.com/search/docs/crawling-indexing/robots-meta-tag",
    ),
    "rsl": ("RSL 1.0", "https://rslstandard.org/rsl"),
    "registry": ("docs/registry.md", PROJECT_DOCS + "registry.md"),
    "decision": ("docs/record.md (the decision table)", PROJECT_DOCS + "record.md"),
    "validate": ("docs/validate.md", PROJECT_DOCS + "validate.md"),
}
_CITATION = re.compile(r"\b(RFC (\d{3,5})|TDMRep) §(\d+(?:\.\d+)*)")


@dataclass(frozen=True, slots=True)
class SpecLink:
    label: str
    url: str


def spec_links(finding: ReportFinding) -> tuple[SpecLink, ...]:
    """The sections the explanation cites (each once), else the source's specification."""
    out: dict[str, SpecLink] = {}
    for match in _CITATION.finditer(f"{finding.explanation} {finding.fix}"):
        label = match.group(0)
        number, section = match.group(2), match.group(3)
        url = RFC_URL.format(number=number) + f"#section-{section}" if number else TDMREP_URL
        out.setdefault(label, SpecLink(label, url))
    if not out and finding.source in SOURCE_SPECS:
        label, url = SOURCE_SPECS[finding.source]
        out[label] = SpecLink(label, url)
    return tuple(out.values())


def finding_anchor(code: str) -> str:
    """The id of a finding's section on the page (``robots.key-typo`` -> ``f-robots-key-typo``)."""
    return "f-" + re.sub(r"[^a-z0-9-]", "-", code.lower())


@dataclass(frozen=True, slots=True)
class Mark:
    """A finding about one line (or, ``line`` None, about the whole file)."""

    code: str
    severity: Severity
    message: str
    anchor: str


@dataclass(frozen=True, slots=True)
class AnnotatedLine:
    number: int
    text: str
    marks: tuple[Mark, ...]

    @property
    def severity(self) -> str:
        """The worst severity marked on the line ("" when none)."""
        for severity in Severity:  # error, warning, info: worst first
            if any(mark.severity is severity for mark in self.marks):
                return str(severity)
        return ""


@dataclass(frozen=True, slots=True)
class AnnotatedFile:
    anchor: str
    name: str
    url: str
    lines: tuple[AnnotatedLine, ...]
    file_marks: tuple[Mark, ...]  # findings about the file with no line
    omitted: int

    @property
    def marked(self) -> int:
        return sum(1 for line in self.lines if line.marks)


# Which findings' sources are about which file (a tdmrep.json finding is located by a JSON
# pointer, "/0/tdm-reservation", and its line).
FILE_SOURCES: Mapping[str, frozenset[str]] = {
    ROBOTS: frozenset({ROBOTS}),
    AITXT: frozenset({AITXT}),
    TDMREP: frozenset({"tdmrep"}),
}


def in_file(finding: ReportFinding, occurrence: Occurrence, source: SourceFile) -> bool:
    """Whether ``occurrence`` of ``finding`` is about ``source``: located at its URL, or by a
    line (and perhaps a JSON pointer) in a file of the finding's source."""
    if occurrence.location == source.url:
        return True
    pointer = occurrence.location is None or occurrence.location.startswith("/")
    sources = FILE_SOURCES.get(source.name, frozenset())
    return pointer and occurrence.line is not None and finding.source in sources


def line_anchors(report: ValidationReport) -> dict[tuple[str, int], tuple[str, str]]:
    """(finding code, occurrence index) -> (the id of the file line it is about, its label)."""
    out = {}
    for finding in report.findings:
        for index, occurrence in enumerate(finding.occurrences):
            for source in report.files:
                if occurrence.line is not None and in_file(finding, occurrence, source):
                    if 1 <= occurrence.line <= len(source.lines):
                        anchor = f"{file_anchor(source.name)}-L{occurrence.line}"
                        label = f"{source.name} line {occurrence.line}"
                        out[(finding.code, index)] = (anchor, label)
                    break
    return out


def file_anchor(name: str) -> str:
    """The id of a file's section (``robots.txt`` -> ``file-robots-txt``)."""
    return finding_anchor("file-" + name).removeprefix("f-")


def annotated_files(report: ValidationReport) -> tuple[AnnotatedFile, ...]:
    """Each kept file with the findings located in it, on their lines."""
    out = []
    for source in report.files:
        by_line: dict[int | None, list[Mark]] = {}
        for finding in report.findings:
            for occurrence in finding.occurrences:
                if not in_file(finding, occurrence, source):
                    continue
                mark = Mark(
                    finding.code, finding.severity, occurrence.message, finding_anchor(finding.code)
                )
                line = occurrence.line
                if line is not None and not 1 <= line <= len(source.lines):
                    line = None  # past the lines kept: shown with the file
                by_line.setdefault(line, []).append(mark)
        lines = tuple(
            AnnotatedLine(number, text, tuple(by_line.get(number, ())))
            for number, text in enumerate(source.lines, 1)
        )
        out.append(
            AnnotatedFile(
                file_anchor(source.name),
                source.name,
                source.url,
                lines,
                tuple(by_line.get(None, ())),
                source.omitted,
            )
        )
    return tuple(out)


# --- host variants --------------------------------------------------------------------------------


def host_variants(url: str) -> list[str]:
    """``url`` first, then the same path on the other scheme and on the www / apex host.

    An IP address or ``localhost`` has no www form; a host already starting ``www.`` gets its
    apex. Ports other than the scheme's default are kept on both schemes.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    hosts = [host]
    if not _is_address(host):
        hosts.append(host[4:] if host.startswith("www.") else f"www.{host}")
    port = f":{parts.port}" if parts.port is not None else ""
    out = [url]
    for name in hosts:
        shown = f"[{name}]" if ":" in name else name
        for scheme in (parts.scheme, "http" if parts.scheme == "https" else "https"):
            variant = urlunsplit(parts._replace(scheme=scheme, netloc=shown + port))
            if variant not in out:
                out.append(variant)
    return out


def _is_address(host: str) -> bool:
    if host == "localhost" or "." not in host:
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class VariantRow:
    """One host variant: how its robots.txt answered, its training verdict, what differs."""

    url: str
    robots: str
    verdict: str
    differences: tuple[str, ...]
    error: str | None = None


def variant_differences(
    checked: ValidationReport, variants: Sequence[tuple[str, ValidationReport | str]]
) -> list[VariantRow]:
    """Each variant (its report, or why it could not be checked) against the checked report:
    reachability, the robots.txt bytes, and every matrix cell."""
    rows = []
    for url, other in variants:
        if isinstance(other, str):
            rows.append(VariantRow(url, "", "", (f"not checked: {other}",), other))
            continue
        rows.append(
            VariantRow(
                url,
                _robots_state(other),
                other.purpose_verdicts.get("train-ai", ""),
                tuple(_differences(checked, other)),
            )
        )
    return rows


def _robots_state(report: ValidationReport) -> str:
    source = report.sources.get(ROBOTS)
    if source is None:
        return ""
    detail = f"HTTP {source.status}" if source.status is not None else (source.error or "")
    return f"{source.outcome} ({detail})" if detail else str(source.outcome)


def _differences(checked: ValidationReport, other: ValidationReport) -> list[str]:
    out: list[str] = []
    if checked.reachable != other.reachable:
        if not other.reachable:  # its decisions are the fail-closed ones: not a disagreement
            return [f"could not be reached ({_robots_state(other)})"]
        out.append("reachable")
    mine, theirs = checked.sources.get(ROBOTS), other.sources.get(ROBOTS)
    if (
        mine is not None
        and theirs is not None
        and (mine.sha256, mine.outcome)
        != (
            theirs.sha256,
            theirs.outcome,
        )
    ):
        out.append(f"robots.txt differs: {_robots_state(other)}")
    if checked.pages and other.pages:
        cells = {row.agent: row.decisions for row in checked.pages[0].matrix}
        changed = []
        for row in other.pages[0].matrix:
            for purpose, decision in row.decisions.items():
                if cells.get(row.agent, {}).get(purpose) not in (None, decision):
                    changed.append(f"{row.agent} {purpose}: {decision}")
        if changed:
            shown = ", ".join(changed[:6]) + (
                f" and {len(changed) - 6} more" if len(changed) > 6 else ""
            )
            out.append(f"decisions differ ({shown})")
    return out
