"""Write docs/findings.md from the finding catalogue (``apps.catalogue.catalogue()``).

Run ``python tools/gen_findings_doc.py`` after adding or changing a FindingSpec;
``tests/test_findings_doc.py`` fails while the document is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reservation_crawler.apps.catalogue import catalogue

DOC = Path(__file__).resolve().parent.parent / "docs" / "findings.md"

HEADER = """# Findings catalogue

Every finding the project can report, generated from the code by `tools/gen_findings_doc.py`
(a test keeps this file in step). `validate` prints the same explanations and fixes; records carry
the code, severity, message and location. Severities: **error** — the signal does not work as the
publisher probably intends, or cannot be read at all; **warning** — it works, but some readers
will disagree or something is lost; **info** — worth knowing, nothing to fix. Messages are
bounded whatever the input repeats: lists show their first 10 items and "and N more", and a
message is cut at 1,000 characters (`model/findings.py`).

"""


def render() -> str:
    specs = catalogue()
    lines = [HEADER, "| code | severity | source | meaning |", "|---|---|---|---|"]
    for code, spec in specs.items():
        lines.append(
            f"| [`{code}`](#{_anchor(code)}) | {spec.severity} | {spec.source} | {spec.title} |"
        )
    lines.append("")
    for code, spec in specs.items():
        lines.append(f"## {code}")
        lines.append("")
        lines.append(f"**{spec.severity}** ({spec.source}) — {spec.title}.")
        lines.append("")
        lines.append(spec.explanation)
        lines.append("")
        if spec.example:
            lines.append("Example:")
            lines.append("")
            lines.append("```")
            lines.append(spec.example)
            lines.append("```")
            lines.append("")
        lines.append(f"Fix: {spec.fix}")
        lines.append("")
    return "\n".join(lines)


def _anchor(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum() or ch in "-_ ").replace(" ", "-")


if __name__ == "__main__":
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC} ({len(catalogue())} codes)", file=sys.stderr)
