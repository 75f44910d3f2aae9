"""Crawl targets: origins, domains or URLs, from arguments, a file with one per line, or a
ranked CSV such as Tranco's ``rank,domain``. Grouped by origin, in first-seen order."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reservation_crawler.core import urls
from reservation_crawler.errors import InvalidOrigin


@dataclass(slots=True)
class Targets:
    """Target URLs per origin (insertion order kept) and the inputs that were not usable, each
    with what is wrong with it (``invalid`` and ``problems`` in step)."""

    by_origin: dict[str, list[str]] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, raw: str, *, scheme: str = "https") -> None:
        try:
            url = urls.target_url(raw, scheme=scheme)
        except InvalidOrigin as exc:
            self.invalid.append(raw)
            self.problems.append(str(exc))
            return
        found = self.by_origin.setdefault(urls.origin_of(url), [])
        if url not in found:
            found.append(url)

    def __len__(self) -> int:
        return len(self.by_origin)


def target_url(raw: str, *, scheme: str = "https") -> str | None:
    """The URL to crawl for one input (``core.urls.target_url``: a bare domain gets ``scheme``,
    an origin its home page, the fragment is dropped); None when unusable."""
    try:
        return urls.target_url(raw, scheme=scheme)
    except InvalidOrigin:
        return None


def iter_target_lines(text: str) -> Iterator[str]:
    """Targets in a file: one per line, ``#`` comments and blank lines skipped; a CSV row
    (``rank,domain`` as in Tranco, or any row) contributes its last non-numeric cell."""
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        cells = [c.strip() for c in row if c.strip()]
        if not cells or cells[0].startswith("#"):
            continue
        candidates = [c for c in cells if not c.isdigit()]
        if not candidates:
            continue
        value = candidates[-1]
        if value.lower() in ("domain", "url", "origin", "site", "host"):
            continue  # a header row
        yield value


def read_targets(
    args: Iterable[str] = (), files: Iterable[str | Path] = (), *, scheme: str = "https"
) -> Targets:
    """All targets from arguments and files (``-`` is not handled here: pass the text)."""
    targets = Targets()
    for raw in args:
        targets.add(raw, scheme=scheme)
    for path in files:
        text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
        for raw in iter_target_lines(text):
            targets.add(raw, scheme=scheme)
    return targets
