"""Every finding code the project can produce: the producers' ``FindingSpec`` constants.

It lives in the apps layer because it names modules of every layer below (signals, core, drivers,
validate); the model layer that defines ``FindingSpec`` knows none of them.
"""

from __future__ import annotations

import importlib

from reservation_crawler.errors import ReservationCrawlerError
from reservation_crawler.model.findings import FindingSpec

# Modules that declare FindingSpec constants at module level.
_PRODUCERS = (
    "reservation_crawler.signals.robots",
    "reservation_crawler.signals.contentsignal",
    "reservation_crawler.signals.aipref",
    "reservation_crawler.signals.tdmrep",
    "reservation_crawler.signals.aitxt",
    "reservation_crawler.signals.page",
    "reservation_crawler.signals.rsl",
    "reservation_crawler.signals.media",
    "reservation_crawler.drivers.fetch",
    "reservation_crawler.core.policy",
    "reservation_crawler.core.decide",
    "reservation_crawler.core.registry",
    "reservation_crawler.drivers.cache",
    "reservation_crawler.drivers.lookup",
    "reservation_crawler.apps.validate",
)


def catalogue() -> dict[str, FindingSpec]:
    """Every finding code the project can produce, keyed by code."""
    specs: dict[str, FindingSpec] = {}
    for name in _PRODUCERS:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, FindingSpec):
                existing = specs.get(value.code)
                if existing is not None and existing is not value:
                    raise ReservationCrawlerError(f"finding code {value.code!r} declared twice")
                specs[value.code] = value
    return dict(sorted(specs.items()))
