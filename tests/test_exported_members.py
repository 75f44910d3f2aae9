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
    "Evidence",
    "FetchError",
    "Finding",
    "OriginPolicy",
    "Outcome",
    "Purpose",
    "ReservationError",
    "ReservationRecord",
    "Severity",
    "SourceOutcome",
    "Verdict",
    "__version__",
}


def test_all_is_pinned():
    assert set(reservation_crawler.__all__) == PUBLIC


def test_every_exported_name_resolves_from_its_home():
    for name in PUBLIC - {"__version__"}:
        value = getattr(reservation_crawler, name)
        assert getattr(value, "__name__", name) == name


def test_importing_the_package_does_not_import_heavy_dependencies():
    code = (
        "import sys, reservation_crawler; "
        "print(','.join(m for m in ('scrapy', 'redis', 'httpx', 'lxml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
