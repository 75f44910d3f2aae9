"""reservation-crawler: reads every machine-readable AI / TDM rights reservation on the web.

The public API is the names in ``__all__`` (pinned by ``tests/test_exported_members.py``) plus
the protocol modules (``robots``, ``tdmrep``, ``aitxt``, ``page``, ``agents``) and
``reservation_crawler.decide.decide``; everything else is internal. Names are imported on first
use, so ``import reservation_crawler`` stays cheap for the command line.

The package is layered (``docs/internals.md``): ``model`` < ``signals`` < ``core`` < ``drivers``
< ``scrapy`` < ``apps`` < ``cli``. The 0.1 module paths (``reservation_crawler.robots``,
``reservation_crawler.checker``, ...) keep working as aliases of their new homes
(``_MOVED``, CHANGELOG.md); nothing inside the package imports this module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .core.policy import OriginPolicy
    from .drivers.lookup import AsyncChecker, Checker, Verdict
    from .errors import (
        CacheUnavailable,
        ConfigError,
        DecodeError,
        InvalidOrigin,
        ReservationCrawlerError,
        ReservationError,
    )
    from .model.findings import Finding, Severity
    from .model.record import (
        Decision,
        Evidence,
        Outcome,
        Purpose,
        ReservationRecord,
        SourceOutcome,
    )

_HOMES = {
    "AsyncChecker": "drivers.lookup",
    "Checker": "drivers.lookup",
    "Verdict": "drivers.lookup",
    "CacheUnavailable": "errors",
    "ConfigError": "errors",
    "DecodeError": "errors",
    "InvalidOrigin": "errors",
    "ReservationCrawlerError": "errors",
    "ReservationError": "errors",  # the 0.1 name of ReservationCrawlerError
    "Finding": "model.findings",
    "Severity": "model.findings",
    "OriginPolicy": "core.policy",
    "Decision": "model.record",
    "Evidence": "model.record",
    "Outcome": "model.record",
    "Purpose": "model.record",
    "ReservationRecord": "model.record",
    "SourceOutcome": "model.record",
}

# Module paths of 0.1, and where each module lives since 0.2 (CHANGELOG.md lists them).
_MOVED = {
    "record": "model.record",
    "findings": "model.findings",
    "patterns": "signals.patterns",
    "robots": "signals.robots",
    "aitxt": "signals.aitxt",
    "tdmrep": "signals.tdmrep",
    "contentsignal": "signals.contentsignal",
    "aipref": "signals.aipref",
    "page": "signals.page",
    "sniff": "signals.sniff",
    "agents": "signals.agents",
    "policy": "core.policy",
    "decide": "core.decide",
    "fetch": "drivers.fetch",
    "cache": "drivers.cache",
    "checker": "drivers.lookup",
    "collect": "drivers.collect",
    "validate": "apps.validate",
    "stats": "apps.stats",
    "server": "apps.server",
    "crawl": "apps.crawl",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    elif name in _MOVED:
        value = importlib.import_module(f"{__name__}.{_MOVED[name]}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import reservation_crawler.robots`` (0.1 path) gives the module at its new home."""

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in _MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(f"{__name__}.{_MOVED[spec.name.rpartition('.')[2]]}")

    def exec_module(self, module: ModuleType) -> None:
        """The module ran at its new home already."""


sys.meta_path.append(_MovedModuleFinder())
