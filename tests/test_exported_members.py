"""The public API is small and pinned: changing it must be a deliberate edit of this list."""

from __future__ import annotations

import subprocess
import sys

import reservation_crawler

PUBLIC = {
    "AsyncChecker",
    "CacheUnavailable",
    "Checker",
    "ConfigError",
    "Decision",
    "DecodeError",
    "Evidence",
    "Finding",
    "InvalidOrigin",
    "OriginPolicy",
    "Outcome",
    "Purpose",
    "ReservationCrawlerError",
    "ReservationError",
    "ReservationRecord",
    "Severity",
    "SourceOutcome",
    "Verdict",
    "__version__",
}


def test_all_is_pinned():
    assert set(reservation_crawler.__all__) == PUBLIC


# Names kept for 0.1 callers, and what they name now.
ALIASES = {"ReservationError": "ReservationCrawlerError"}


def test_every_exported_name_resolves_from_its_home():
    for name in PUBLIC - {"__version__"}:
        value = getattr(reservation_crawler, name)
        assert getattr(value, "__name__", name) == ALIASES.get(name, name)


def test_the_0_1_exception_root_is_the_root():
    from reservation_crawler import ReservationCrawlerError, ReservationError

    assert ReservationError is ReservationCrawlerError


def test_importing_the_package_does_not_import_heavy_dependencies():
    code = (
        "import sys, reservation_crawler; "
        "print(','.join(m for m in ('scrapy', 'redis', 'httpx', 'lxml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# The 0.1 module paths (CHANGELOG.md, 0.2.0) and the module each now names.
MOVED = {
    "robots": "signals.robots",
    "tdmrep": "signals.tdmrep",
    "aitxt": "signals.aitxt",
    "page": "signals.page",
    "agents": "signals.agents",
    "decide": "core.decide",
    "policy": "core.policy",
    "record": "model.record",
    "findings": "model.findings",
    "checker": "drivers.lookup",
    "fetch": "drivers.fetch",
    "cache": "drivers.cache",
    "validate": "apps.validate",
    "stats": "apps.stats",
    "server": "apps.server",
}


def test_documented_0_1_imports_keep_working():
    import importlib

    from reservation_crawler import robots  # README

    assert (
        robots.parse(b"User-agent: *\nDisallow: /\n").allowed("https://a.example/x", "A") is False
    )
    for old, new in MOVED.items():
        aliased = importlib.import_module(f"reservation_crawler.{old}")
        assert aliased is importlib.import_module(f"reservation_crawler.{new}"), old
        assert getattr(reservation_crawler, old) is aliased
    from reservation_crawler.decide import decide  # documented: reservation_crawler.decide.decide
    from reservation_crawler.scrapy import ReservationMiddleware

    assert decide.__module__ == "reservation_crawler.core.decide"
    assert ReservationMiddleware.__module__ == "reservation_crawler.scrapy.middleware"


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError):
        reservation_crawler.not_a_module  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        __import__("reservation_crawler.not_a_module")


def test_cli_runs_as_a_module():
    out = subprocess.run(
        [sys.executable, "-m", "reservation_crawler.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"reservation-crawler {reservation_crawler.__version__}"
