"""reservation-crawler: reads every machine-readable AI / TDM rights reservation on the web.

The public API is the names in ``__all__`` (pinned by ``tests/test_exported_members.py``) plus
the protocol modules (``robots``, ``tdmrep``, ``aitxt``, ``page``, ``agents``) and
``reservation_crawler.decide.decide``; everything else is internal. Names are imported on first
use, so ``import reservation_crawler`` stays cheap for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .checker import AsyncChecker, Checker, Verdict
    from .errors import CacheUnavailable, ConfigError, FetchError, ReservationError
    from .findings import Finding, Severity
    from .policy import OriginPolicy
    from .record import Decision, Evidence, Outcome, Purpose, ReservationRecord, SourceOutcome

_HOMES = {
    "AsyncChecker": "checker",
    "Checker": "checker",
    "Verdict": "checker",
    "CacheUnavailable": "errors",
    "ConfigError": "errors",
    "FetchError": "errors",
    "ReservationError": "errors",
    "Finding": "findings",
    "Severity": "findings",
    "OriginPolicy": "policy",
    "Decision": "record",
    "Evidence": "record",
    "Outcome": "record",
    "Purpose": "record",
    "ReservationRecord": "record",
    "SourceOutcome": "record",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
