"""The layering of docs/internals.md, pinned: upward imports, cycles and imports of the face fail.

The import graph comes from grimp (import-linter's graph library) and includes imports made
inside functions and under ``TYPE_CHECKING``. ``lint-imports`` checks the same layer contracts
from ``pyproject.toml`` in ``scripts/test.sh``; this test adds what a layers contract cannot say.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

PACKAGE = "reservation_crawler"
ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("cli", "apps", "scrapy", "drivers", "core", "signals", "model", "errors", "_version")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE)


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_lives_in_a_layer_or_testing(graph):
    loose = sorted(
        m
        for m in graph.modules
        if m != PACKAGE and _layer(m) is None and not m.startswith(f"{PACKAGE}.testing")
    )
    assert not loose, f"modules outside every layer package: {loose}"


def test_no_upward_import(graph):
    rank = {name: i for i, name in enumerate(reversed(LAYERS))}
    rank["errors"] = rank["_version"] = 0  # one bottom layer
    upward = []
    for importer in graph.modules:
        low = _layer(importer)
        if low is None:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            high = _layer(imported)
            if high is not None and rank[high] > rank[low]:
                upward.append(f"{importer} -> {imported}")
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycle(graph):
    cycles = set()
    for importer in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(importer):
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain:
                cycles.add(" -> ".join((importer, *chain)))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))


def test_nothing_inside_imports_the_face(graph):
    importers = sorted(graph.find_modules_that_directly_import(PACKAGE))
    assert not importers, f"modules importing the package face {PACKAGE}/__init__: {importers}"


def test_testing_imports_nothing_of_the_package(graph):
    testing = {m for m in graph.modules if m.startswith(f"{PACKAGE}.testing")}
    outside = sorted(
        f"{importer} -> {imported}"
        for importer in testing
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported not in testing
    )
    assert not outside, outside


def test_import_linter_contracts_hold():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert len(config["tool"]["importlinter"]["contracts"]) >= 2
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_layers_list_matches_the_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = config["tool"]["importlinter"]["contracts"][0]
    named = [
        part.strip().split(".")[1] for layer in contract["layers"] for part in layer.split("|")
    ]
    assert named == list(itertools.chain(LAYERS))
