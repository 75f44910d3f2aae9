"""docs/findings.md is generated from the catalogue; this keeps them in step."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from reservation_crawler.apps.catalogue import catalogue
from reservation_crawler.model.findings import Severity

ROOT = Path(__file__).resolve().parent.parent


def _render() -> str:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "tools" / "gen_findings_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render()


def test_findings_doc_is_up_to_date():
    doc = (ROOT / "docs" / "findings.md").read_text(encoding="utf-8")
    assert doc == _render(), "run: python tools/gen_findings_doc.py"


def test_every_spec_is_complete():
    for code, spec in catalogue().items():
        source, _, name = code.partition(".")
        assert source and name and name == name.lower(), code
        assert spec.severity in Severity
        assert spec.title and spec.explanation and spec.fix, code


def test_every_code_is_named_by_some_test():
    """A guard for new codes: each must be triggered (and so named) by a test somewhere."""
    here = Path(__file__).resolve()
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in here.parent.glob("test_*.py") if p != here
    )
    missing = [code for code in catalogue() if code not in text]
    assert not missing, f"finding codes no test names: {missing}"
