"""The web front's templates (Jinja2, autoescaped everywhere) and the one report renderer.

``render_report_html`` is ``validate --html``: the report partial the web page shows, in a
self-contained page (the same stylesheet inlined, no script).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from reservation_crawler._version import __version__
from reservation_crawler.apps.validate import (
    EXAMPLE_LABEL,
    ValidationReport,
    exit_status,
)
from reservation_crawler.apps.web.view import (
    VariantRow,
    annotated_files,
    finding_anchor,
    line_anchors,
    spec_links,
)
from reservation_crawler.model.record import PURPOSES

__all__ = ["PURPOSE_WORDS", "environment", "render", "render_report_html", "report_context"]

# Plain words for each purpose (registration form, matrix headers). A purpose missing here (a
# vocabulary change) is shown by its token.
PURPOSE_WORDS: Mapping[str, str] = {
    "crawl": "crawling (fetching pages at all)",
    "train-ai": "training AI models",
    "ai-input": "using pages as input to an AI answer (retrieval, grounding)",
    "ai-use": "using pages as input to an AI answer (retrieval, grounding)",
    "search": "search indexing",
}


@cache
def environment() -> jinja2.Environment:
    """The templates of ``apps/web/templates``; every ``{{ value }}`` is HTML-escaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reservation_crawler.apps.web", "templates"),
        autoescape=True,  # every template, whatever its name: publisher text is hostile
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        version=__version__,
        purposes=[str(p) for p in PURPOSES],
        purpose_words=PURPOSE_WORDS,
        finding_anchor=finding_anchor,
        spec_links=spec_links,
        example_label=EXAMPLE_LABEL,
    )
    return env


@cache
def stylesheet() -> str:
    return resources.files("reservation_crawler.apps.web").joinpath("static/style.css").read_text()


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def report_context(
    report: ValidationReport,
    *,
    permalink: str | None = None,
    variants: list[VariantRow] | None = None,
) -> dict[str, Any]:
    """What ``_report.html.j2`` reads."""
    page = report.pages[0] if report.pages else None
    star = next((row.decisions for row in page.matrix if row.agent == "*"), {}) if page else {}
    return {
        "star": star,
        "report": report,
        "verdicts": report.purpose_verdicts,
        "counts": report.counts,
        "exit_code": exit_status(report),
        "page": page,
        "files": annotated_files(report),
        "line_anchors": line_anchors(report),
        "permalink": permalink,
        "variants": variants or [],
        "registry_signals": [s for s in report.signals if s.family == "registry"],
        "other_signals": [s for s in report.signals if s.family != "registry"],
    }


def render_report_html(report: ValidationReport) -> str:
    """A self-contained HTML page of the report (``validate --html``): the web page's report,
    its stylesheet inlined, no script."""
    return render(
        "static_report.html.j2",
        standalone=True,
        css=stylesheet(),
        title=f"AI reservations of {report.origin}",
        **report_context(report),
    )
